// chopin-example: the example server the README's run command starts.
// Its routes (/plaintext, /json, /user/:id, /echo, /users, /search,
// /static/*path, /fail, /async/json, /sleep, /events, /upload, /assets/*,
// /large.json, /crash, /api/me, /layered/*, /awaiting/json, /notes) live in
// ChopinExampleRoutes, shared with the tests and the benchmarks; /db and
// /queries in ChopinExampleDatabase, on the PostgreSQL server that
// CHOPIN_DATABASE_URL names (503 without it); /metrics is Prometheus' view of
// the server's counters, /ready the readiness probe. This file reads the flags and serves them.
// Usage: chopin-example [--port N] [--workers N] [--backend auto|uring|epoll] [--isolation shared-process|process-per-worker|threads]
//                       [--host ADDR] [--assets DIR] [--access-log] [--access-log-level LEVEL] [--metrics-interval SECONDS]
//                       [--trusted-proxy ADDR|CIDR]... [--drain-ms N] [--admin-port N] [--service-group]
import Chopin
import ChopinExampleDatabase
import ChopinExampleRoutes
import Dispatch
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

func usage(_ message: String) -> Never {
    var line =
        "chopin-example: \(message)\nusage: chopin-example [--port N] [--workers N] [--backend auto|uring|epoll] [--isolation shared-process|process-per-worker|threads] [--host ADDR] [--assets DIR] [--access-log] [--access-log-level trace|debug|info|notice|warning|error|critical] [--metrics-interval SECONDS] [--trusted-proxy ADDR|CIDR]... [--drain-ms N] [--admin-port N] [--service-group] [--tls-cert PEM --tls-key PEM [--redirect-port N] [--no-kernel-tls]]\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

var config = Configuration(host: "0.0.0.0", port: 8080)
var args = CommandLine.arguments.dropFirst()
var accessLog = false
// The access log's own logger level: above .info its lines are filtered out
// (what the bench measures as the cost of a RequestLogger that logs nothing).
var accessLogLevel = Logger.Level.info
var assets = exampleAssetsDirectory  // GET /assets/*
var metricsInterval: Duration? = .seconds(1)  // to swift-metrics, whichever backend is bootstrapped
var adminPort: UInt16?  // /metrics and /ready on a server of their own, on 127.0.0.1
var serviceGroup = false  // the server as a ChopinService in a swift-service-lifecycle ServiceGroup
var tlsCertificate: String?  // with --tls-key: every route over HTTPS
var tlsKey: String?
var redirectPort: UInt16?  // with TLS: a plain-HTTP server there that redirects to HTTPS
var kernelTLS = true  // with TLS: the kernel seals records after each handshake, where it can (kTLS)
while let flag = args.popFirst() {
    if flag == "--access-log" {
        accessLog = true  // one line per request through swift-log
        continue
    }
    if flag == "--service-group" {
        serviceGroup = true
        continue
    }
    if flag == "--no-kernel-tls" {
        kernelTLS = false  // every TLS record sealed by OpenSSL, in the worker
        continue
    }
    guard let value = args.popFirst() else { usage("\(flag) needs a value") }
    switch flag {
    case "--port":
        guard let p = UInt16(value) else { usage("--port must be 0...65535, got '\(value)'") }
        config.port = p
    case "--workers":
        guard let w = UInt32(value) else { usage("--workers must be a number, got '\(value)'") }
        config.workers = w
    case "--backend":
        guard let b = Backend(rawValue: value) else { usage("--backend must be auto, uring or epoll, got '\(value)'") }
        config.backend = b
    case "--isolation":
        // "processes": the name a process per worker had before the shared process became the default.
        guard let i = value == "processes" ? .processPerWorker : Isolation(rawValue: value) else {
            usage("--isolation must be shared-process, process-per-worker or threads, got '\(value)'")
        }
        config.isolation = i
    case "--host":
        config.host = value
    case "--assets":
        assets = value
    case "--access-log-level":
        guard let level = Logger.Level(rawValue: value) else { usage("--access-log-level: no level '\(value)'") }
        accessLog = true
        accessLogLevel = level
    case "--admin-port":
        guard let p = UInt16(value), p != 0 else { usage("--admin-port must be 1...65535, got '\(value)'") }
        adminPort = p
    case "--drain-ms":
        // Before a stop: the readiness route (/ready) answers 503 while everything is still served.
        guard let ms = UInt32(value) else { usage("--drain-ms must be milliseconds, got '\(value)'") }
        config.drainMilliseconds = ms
    case "--trusted-proxy":
        // Repeatable: each names a proxy (or range) whose X-Forwarded-For is believed.
        config.trustedProxies.append(value)
    case "--tls-cert":
        tlsCertificate = value
    case "--tls-key":
        tlsKey = value
    case "--redirect-port":
        guard let p = UInt16(value), p != 0 else { usage("--redirect-port must be 1...65535, got '\(value)'") }
        redirectPort = p
    case "--metrics-interval":
        guard let seconds = Int(value), seconds >= 0 else { usage("--metrics-interval must be seconds, got '\(value)'") }
        metricsInterval = seconds == 0 ? nil : .seconds(seconds)
    default:
        usage("unknown flag \(flag)")
    }
}

switch (tlsCertificate, tlsKey) {
case (let certificate?, let key?):
    var tls = TLSConfiguration(certificateChain: .file(certificate), privateKey: .file(key))
    tls.kernelTLS = kernelTLS
    config.tls = tls
case (nil, nil):
    if redirectPort != nil { usage("--redirect-port needs --tls-cert and --tls-key") }
    if !kernelTLS { usage("--no-kernel-tls needs --tls-cert and --tls-key") }
default:
    usage("--tls-cert and --tls-key go together")
}
let router = exampleRouter(assets: assets)
var database: WorldDatabase?
if let url = getenv("CHOPIN_DATABASE_URL").map({ String(cString: $0) }), !url.isEmpty {
    do {
        let db = try WorldDatabase(url: url)
        // The connection pool, for as long as the server runs: detached, as the
        // main thread is about to block in serve().
        Task.detached { await db.run() }
        database = db
    } catch {
        usage("\(error)")
    }
}
addDatabaseRoutes(to: router, database: database)
var server = Server(configuration: config)
server.metricsInterval = metricsInterval
// /metrics and the readiness route (200 while serving, its body saying when
// the last rolling restart failed; 503 from the drain on): on the main port,
// or, with --admin-port, on a second server of worker threads on 127.0.0.1
// only, never reachable on the public port. (In the main server's worker
// processes that second server stays dormant: this process serves it.)
let operations = adminPort == nil ? router : Router()
operations.get("/metrics", server.prometheusHandler)
operations.get("/ready", server.readinessHandler)
var admin: RunningServer?
if let adminPort {
    var adminConfig = Configuration(host: "127.0.0.1", port: adminPort)
    adminConfig.workers = 1
    adminConfig.backend = config.backend
    adminConfig.drainMilliseconds = 0  // it answers the drain's 503s; it stops with the program
    do {
        admin = try Server(configuration: adminConfig).start(operations)
    } catch {
        usage("--admin-port \(adminPort): \(error)")
    }
}
var redirect: RunningServer?
if let redirectPort {
    // Plain HTTP beside the HTTPS server: every request is sent to HTTPS.
    // Worker threads in this process, as the admin server (dormant in the
    // HTTPS server's worker processes).
    var redirectConfig = Configuration(host: config.host, port: redirectPort)
    redirectConfig.workers = 1
    redirectConfig.backend = config.backend
    redirectConfig.drainMilliseconds = 0
    do {
        redirect = try Server(configuration: redirectConfig).start(.redirectingToHTTPS(port: config.port))
    } catch {
        usage("--redirect-port \(redirectPort): \(error)")
    }
}
if accessLog {
    var logger = Logger(label: "chopin.access")
    logger.logLevel = accessLogLevel
    router.use(RequestLogger(logger: logger))
}
if serviceGroup {
    // The same server as one service of a ServiceGroup, as an application
    // with other services (a database client, a queue consumer) runs it. The
    // group takes SIGTERM and SIGINT, here and in the worker process (which
    // runs this again); SIGHUP is still a rolling restart.
    let logger = server.logger
    let group = ServiceGroup(
        services: [ChopinService(server, router: router)], gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger)
    Task.detached {
        do {
            try await group.run()
            exit(0)
        } catch {
            logger.critical("\(error)")  // the server could not start, say
            exit(1)
        }
    }
    dispatchMain()
} else {
    server.serve(router)  // a server that cannot start says why and exits 1
}
