internal import CChopinCore
public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A Chopin HTTP/1.1 server.
///
/// ```swift
/// let router = Router()
/// router.get("/plaintext") { _ in .text("Hello, World!") }
/// try Server.bind("0.0.0.0:8080").serve(router)   // until SIGINT or SIGTERM
/// ```
public struct Server: Sendable {
    /// What the server listens on and how it runs: address, workers, limits and timeouts (see ``Configuration``).
    public var configuration: Configuration
    /// Where the server's lines go (startup, configuration and handler
    /// errors, the C core's own); `Logger(label: "chopin")` unless set.
    public var logger = Logger(label: "chopin")
    /// How often the workers' counters are handed to swift-metrics (bootstrap
    /// `MetricsSystem` with a backend); nil, the default, never.
    public var metricsInterval: Duration? = nil
    /// The running server's counters, for ``prometheusHandler`` and the collector.
    let observation = ServerObservation()

    /// A server that runs with `configuration`; ``Server/bind(_:)`` is the shorthand when only the address matters.
    public init(configuration: Configuration) { self.configuration = configuration }

    /// A server for "host:port" ("0.0.0.0:8080", "[::1]:8080", ":8080" for all IPv4 addresses).
    public static func bind(_ address: String) throws(ConfigurationError) -> Server {
        guard let colon = address.lastIndex(of: ":"),
            let port = UInt16(address[address.index(after: colon)...])
        else {
            throw ConfigurationError(description: "address '\(address)' must be host:port, e.g. 0.0.0.0:8080")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        let config = Configuration(host: host, port: port)
        try config.validate()
        return Server(configuration: config)
    }

    /// Returns a copy with the configuration changed by `change`.
    public func configured(_ change: (inout Configuration) -> Void) -> Server {
        var copy = self
        change(&copy.configuration)
        return copy
    }

    /// Serves until SIGINT or SIGTERM, then stops gracefully and returns.
    ///
    /// With ``Isolation/sharedProcess`` (the default) this process
    /// supervises one worker process that runs every worker thread; with
    /// ``Isolation/processPerWorker`` one process per worker. A worker
    /// process is the same program started again: it runs `main` up to
    /// this call, builds the same router, and this call makes it the
    /// worker. SIGHUP replaces the worker processes one at a time (with
    /// HTTPS it reloads the certificate, and SIGUSR2 replaces them).
    ///
    /// The end of a program's main: a server that cannot start (the port
    /// already in use, a configuration out of range, a route registered
    /// twice) ends the program with one line on ``logger`` and exit status
    /// 1. Use ``start(_:)`` to handle those errors yourself.
    public func serve(_ router: Router) {
        let running: RunningServer
        do {
            running = try launch(router, isolation: configuration.isolation)
        } catch {
            logger.critical("cannot start: \(error)")
            exit(1)
        }
        running.waitForSignalThenStop()
    }

    /// Starts serving and returns at once (for tests and embedding), with
    /// worker threads whatever ``Configuration/isolation`` says: worker
    /// processes run the program again from `main`, which only ``serve(_:)``
    /// (or a ``ChopinService`` in a group that `main` runs) is the end of.
    public func start(_ router: Router) throws -> RunningServer {
        try launch(router, isolation: .threads)
    }

    /// Starts the C server. With a supervised isolation this process becomes
    /// the supervisor, or, when a supervisor started it, that worker process.
    /// `leavingSignals`: the program takes SIGINT and SIGTERM itself (a
    /// `ServiceGroup`) and stops the server its own way.
    func launch(_ router: Router, isolation: Isolation, listening: Bool = true, leavingSignals: Bool = false) throws
        -> RunningServer
    {
        var configuration = configuration
        configuration.isolation = isolation
        try configuration.validate()
        let app = App(
            tree: try router.freeze(),
            proxies: try TrustedProxies(configuration.trustedProxies, header: configuration.clientAddressHeader),
            tls: try configuration.tls.map { (tls) throws(ConfigurationError) in try TLSIdentity(tls) })
        let context = Unmanaged.passRetained(app)
        ChopinLog.install(logger)
        var message = [CChar](repeating: 0, count: 256)
        let server: OpaquePointer? = configuration.host.withCString { host in
            var c = configuration.cConfig(host: host)
            c.no_listener = listening ? 0 : 1
            c.leave_signals = leavingSignals ? 1 : 0
            if !listening { c.quiet = 1 }
            c.handler = appHandler
            c.error_body = coreErrorBodyHook
            c.handler_ctx = context.toOpaque()
            // Each worker's loop is also its async handlers' executor.
            c.worker_start = workerStartHook
            c.worker_turn = workerTurnHook
            // Only in turns with jobs queued (WorkerExecutor.enqueue asks):
            // a turn of synchronous requests does not call into Swift for it.
            c.worker_turn_when_asked = 1
            c.worker_stop = workerStopHook
            // Routes that take their body as a stream are asked for before it is read.
            c.body_stream = bodyStreamHook
            // RouteMetrics' cells: a number per route, and one for no route.
            c.route_metrics = app.tree.countsRoutes ? UInt32(app.tree.metricsLabels.count) : 0
            c.tls = app.tls?.pointer
            return chopin_server_start(&c, &message, message.count)
        }
        guard let server else {
            context.release()
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ConfigurationError(description: text)
        }
        observation.attach(
            server, isolation: isolation, collectEvery: metricsInterval,
            routes: app.tree.countsRoutes ? app.tree.metricsLabels : [])
        return RunningServer(server: server, app: context, observation: observation)
    }
}

extension Server {
    /// A server for "host:port" that speaks HTTPS with `tls`
    /// (``TLSConfiguration``); the certificate and key are loaded and
    /// checked here, so a missing file or a key that does not match is a
    /// ``ConfigurationError`` before anything listens.
    public static func bind(_ address: String, tls: TLSConfiguration) throws(ConfigurationError) -> Server {
        var server = try bind(address)
        server.configuration.tls = tls
        try server.configuration.validate()
        return server
    }
}

/// A server that is running; ``stop()`` it when done.
public final class RunningServer: @unchecked Sendable {
    // The C server is thread-safe for stop; `stopped` makes a second stop,
    // from any thread, a no-op instead of a second free, and holds the
    // counters' last reading, taken before the C server is freed: a reader
    // after stop() gets it instead of freed memory.
    private let server: OpaquePointer
    private let app: Unmanaged<App>
    private let observation: ServerObservation
    private let stopped = Mutex<chopin_metrics?>(nil)
    /// The first stop() began; a later one waits until it has ended.
    private let draining = Mutex(false)
    /// The first stop() has ended: every worker is gone.
    private let ended = Atomic<Bool>(false)

    /// The bound port (useful with port 0).
    public let port: UInt16
    /// "io_uring" or "epoll".
    public let backend: String

    init(server: OpaquePointer, app: Unmanaged<App>, observation: ServerObservation) {
        self.server = server
        self.app = app
        self.observation = observation
        port = chopin_server_port(server)
        backend = String(cString: chopin_server_backend(server))
    }

    /// Stops gracefully: first the drain period
    /// (``Configuration/drainPeriod``: the readiness route answers 503 while
    /// everything is still served), then in-flight requests finish and every
    /// worker ends. A handler still running at the deadline is left behind
    /// (and what it uses with it) rather than holding the caller past it.
    /// Only the first call stops; a later one (from another thread, or
    /// while a ``ChopinService`` stops this server) waits until that stop
    /// has ended, so that whoever returns from stop() finds the server gone.
    public func stop() { stop(draining: true) }

    /// ``stop()``, awaited (``ChopinService``): the drain period is a sleep
    /// of the calling task, and the wait for the workers runs on a thread of
    /// its own, so that no thread of Swift's executors is held while
    /// in-flight requests finish.
    func stopWithoutBlocking() async {
        guard beginsTheStop() else {
            while !ended.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(5)) }
            return
        }
        let drainMs = chopin_server_drain_begin(server)
        if drainMs > 0 { try? await Task.sleep(for: .milliseconds(drainMs)) }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DedicatedThread.run { [self] in
                finishStop()
                done.resume()
            }
        }
    }

    /// The stop, with or without the drain period: a RunningServer dropped
    /// without stop() stops at once (its deinit must not hold a thread for
    /// the drain).
    private func stop(draining drains: Bool) {
        guard beginsTheStop() else {
            while !ended.load(ordering: .acquiring) { usleep(1000) }
            return
        }
        if drains { chopin_server_drain(server) }
        finishStop()
    }

    /// Whether this call is the first stop (later ones wait for it to end).
    private func beginsTheStop() -> Bool {
        draining.withLock { began in
            defer { began = true }
            return !began
        }
    }

    /// Stops the C server and waits for its workers (blocks).
    private func finishStop() {
        stopped.withLock { last in last = readCounters() }
        observation.detach()  // before the counters are freed
        chopin_server_stop(server)
        if chopin_server_wait(server) == 0 { app.release() }
        ended.store(true, ordering: .releasing)
    }

    func waitForSignalThenStop() {
        guard stopped.withLock({ $0 == nil }) else { return }
        chopin_server_await_signal(server)
        stop()
    }

    /// Hands a connected descriptor to a worker (ChopinTesting's in-process
    /// connections): 0, or -errno.
    func adopt(_ fd: Int32) -> Int32 {
        stopped.withLock { last in last == nil ? chopin_server_adopt(server, fd) : -ESHUTDOWN }
    }

    /// Loads the TLS certificate and key again (``TLSConfiguration``): from
    /// the same files when `configuration` is nil, in every isolation mode,
    /// as SIGHUP does; else from `configuration` (a server of worker
    /// threads, as ``Server/start(_:)`` runs). New connections use them,
    /// established ones keep theirs. On failure the error says why and the
    /// old certificate stays in use.
    public func reloadTLS(_ configuration: TLSConfiguration? = nil) throws(ConfigurationError) {
        var message = [CChar](repeating: 0, count: 512)
        let rc: Int32 = stopped.withLock { last in
            guard last == nil else {
                message = Array("the server has stopped".utf8CString)
                return -1
            }
            guard let identity = app.takeUnretainedValue().tls else {
                message = Array("this server does not serve HTTPS".utf8CString)
                return -1
            }
            guard let configuration else { return chopin_server_tls_reload(server, &message, message.count) }
            do {
                try identity.reload(configuration)
                return 0
            } catch {
                message = Array(String(String(describing: error).dropFirst("TLS: ".count)).utf8CString)
                return -1
            }
        }
        if rc != 0 { throw ConfigurationError(description: "TLS: " + TLSIdentity.text(message)) }
    }

    /// How the last rolling restart (SIGHUP, with worker processes) went:
    /// whether it replaced every worker or stopped at one whose replacement
    /// never served, and why. Readable in the supervisor and in every worker.
    public var rollingRestart: RollingRestartStatus {
        stopped.withLock { last in
            last == nil ? RollingRestartStatus.read(server) : RollingRestartStatus(chopin_roll_status())
        }
    }

    /// Bytes the workers hold for unfinished input and unsent output (for tests).
    var bufferBytes: UInt64 { counters.buffer_bytes }

    /// Requests and errors counted by the workers so far (after ``stop()``:
    /// until the stop).
    public var requestCount: UInt64 { counters.requests }

    /// The workers' counters now, or as they were when stop() began. Read
    /// under the lock that stop() takes before freeing the C server.
    private var counters: chopin_metrics {
        stopped.withLock { last in last ?? readCounters() }
    }

    private func readCounters() -> chopin_metrics {
        var m = chopin_metrics()
        chopin_server_metrics(server, &m)
        return m
    }

    deinit { stop(draining: false) }
}

/// What the C core calls for each request: routes it and runs the handler.
final class App: Sendable, ServerSettings {
    let tree: RouteTree
    /// The core's own error answers, in the router's format.
    let coreErrorBodies: CoreErrorBodies
    /// Whose forwarding headers ``Request/clientAddress`` believes.
    let proxies: TrustedProxies
    /// The HTTPS identity the workers start sessions from (freed with the
    /// app, after the last worker).
    let tls: TLSIdentity?
    init(tree: RouteTree, proxies: TrustedProxies = .none, tls: TLSIdentity? = nil) {
        self.tree = tree
        self.proxies = proxies
        self.tls = tls
        coreErrorBodies = CoreErrorBodies(tree.errors.renderer)
    }

    func handle(_ head: UnsafePointer<chopin_request>, _ writer: ResponseWriter) {
        let found = tree.route(head)
        guard case .found(let unmanaged) = found else {
            respond(tree.missChain(found), Request(head: head, writer: writer, matched: nil), writer)
            return
        }
        // Built in one piece (Request's memberwise initializer), as a var that
        // nothing copies: the chain takes it in place.
        var request = Request(head: head, writer: writer, matched: unmanaged)
        unmanaged._withUnsafeGuaranteedRef { route in
            writer.recordHandling(head, route: UnsafeBufferPointer(route.patternBytes))
            let chain = route.chain
            if let handler = chain.direct {
                // No middleware, nothing that awaits: the handler, as it is.
                do {
                    try handler(request).write(to: writer)
                } catch {
                    chain.errors.answer(error, request).write(to: writer)
                }
            } else {
                chain.respond(&request)?.write(to: writer)
            }
            writer.recordHandled()
        }
    }

    /// A request no route takes (404, 405, 501), through the router's
    /// middleware. Apart: the hot path above has no use for its code.
    @inline(never)
    private func respond(_ chain: Chain, _ request: consuming Request, _ writer: ResponseWriter) {
        chain.respond(&request)?.write(to: writer)
    }
}

private let bodyStreamHook: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<chopin_request>?) -> Int32 = {
    ctx, request in
    guard let ctx, let request else { return 0 }
    return Unmanaged<App>.fromOpaque(ctx).takeUnretainedValue().tree.streamsBody(request) ? 1 : 0
}

private let appHandler: chopin_handler_fn = { ctx, request, response in
    guard let ctx, let request, let response else { return }
    // Guaranteed, not retained: the running server holds the App until every
    // worker has stopped, so it outlives each call.
    Unmanaged<App>.fromOpaque(ctx)._withUnsafeGuaranteedRef { $0.handle(request, ResponseWriter(response)) }
}

/// The core asks for the body of an answer it gives on its own (CoreErrorBodies).
let coreErrorBodyHook:
    @convention(c) (
        UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?,
        UnsafeMutablePointer<UnsafeRawPointer?>?, UnsafeMutablePointer<Int>?
    ) -> Int32 = { ctx, status, type, body, len in
        guard let ctx, let type, let body, let len else { return 0 }
        return Unmanaged<App>.fromOpaque(ctx)._withUnsafeGuaranteedRef { app in
            guard let found = app.coreErrorBodies.body(status) else { return 0 }
            type.pointee = found.type.map { UnsafePointer($0) }
            body.pointee = UnsafeRawPointer(found.bytes.baseAddress)
            len.pointee = found.bytes.count
            return 1
        }
    }
