import ChopinExampleRoutes
import ChopinTesting
import HTTPTypes
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Chopin

/// The README's "In your own package" counter.
private let hits = Mutex(0)

/// The README's async snippets, verbatim, so that they keep compiling and
/// registering (their behaviour is tested in AsyncHandlerTests).
@Suite struct ReadmeSnippetTests {
    struct Nap: Decodable, Sendable { let ms: Int }

    struct ServedBy: SyncMiddleware {
        func after(_ request: Request, response: inout Response) {
            response.headers.append(("X-Served-By", "chopin"))  // error answers (404, 500...) get it too
        }
    }
    /// "In your own package": everything but the last line, which would serve.
    @Test func ownPackageSnippet() throws {
        let router = Router()
        router.use(ServedBy())
        router.get("/hits") { _ in .text("\(hits.withLock { $0 += 1; return $0 })") }
        let server = try Server.bind("0.0.0.0:8080").configured { config in
            config.workers = 4  // 0, the default: one per CPU
            config.backend = .epoll  // .auto, the default: io_uring where allowed
            config.maxBody = 8 << 20
        }
        _ = { server.serve(router) }  // compiled, not run
        #expect(server.configuration.workers == 4)
        #expect(try router.freeze().nodes.count > 1)
    }

    /// "HTTPS": the snippet, compiled and not run (its paths are a server's).
    @Test func httpsSnippet() throws {
        let router = Router()
        let tls = TLSConfiguration(
            certificateChain: .file("/etc/chopin/fullchain.pem"),  // or .pem(String)
            privateKey: .file("/etc/chopin/privkey.pem"))
        _ = { try Server.bind("0.0.0.0:8443", tls: tls).serve(router) }  // compiled, not run
        #expect(tls.maxHandshakesPerWorker == 256 && tls.handshakeTimeout == .seconds(10))
    }

    /// "Tracing": the two lines, registered and frozen.
    @Test func tracingSnippet() throws {
        let router = Router()
        router.use(TracingMiddleware())  // first: its span covers the middleware after it
        router.use(RequestLogger())
        router.get("/user/:id") { (req: Request, id: Path<UInt64>) in .text("user \(id.value)") }
        #expect(try router.freeze().nodes.count > 1)
    }

    /// "Crash isolation": the snippet, its last line compiled, not run.
    /// "One request pipeline": the middleware, storage and error renderer, registered and frozen.
    @Test func pipelineSnippet() throws {
        struct UserStore: Sendable {
            func user(forToken token: String) async -> User? { token == "t" ? User(name: "ada") : nil }
        }
        struct Problem: Encodable { let title: String; let status: Int }
        struct User: Sendable { let name: String }

        struct BearerAuth: Middleware {            // may await: a database, a session store
            let users: UserStore
            func handle(_ request: Request, next: Next) async throws -> Response {
                guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
                      let user = await users.user(forToken: String(header.dropFirst(7)))
                else { throw HTTPError(.unauthorized, headers: [("WWW-Authenticate", "Bearer")]) }
                var request = request
                request.storage[User.self] = user  // for later middleware and the handler
                return try await next(request)
            }
        }

        let router = Router()
        let store = UserStore()
        router.use(RequestLogger())                               // every request: its real status and duration
        router.use(CORS(allowedOrigins: ["https://app.example"])) // preflights answered, no OPTIONS routes needed
        router.group("/api") { api in
            api.use(BearerAuth(users: store))
            api.get("/me") { req in .text(req.storage[User.self]?.name ?? "") }                     // synchronous
            api.get("/me/async") { (req: Request) async in .text(req.storage[User.self]?.name ?? "") } // async
        }
        router.renderErrors { report, request in   // every error answer, in your format (RFC 9457 here)
            var answer = Response.json(Problem(title: report.message, status: report.status.code), status: report.status)
            answer.contentType = "application/problem+json"
            return answer
        }
        #expect(try router.freeze().nodes.count > 1)
    }

    /// "Testing an app": the snippet, on chopin-example's router.
    @Test func meNeedsAToken() throws {
        let router = exampleRouter()
        let app = try TestApp(router) { $0.handlerTimeout = .seconds(2) }
        defer { app.stop() }
        #expect(try app.get("/api/me").status == .unauthorized)
        let me = try app.get("/api/me", headers: [("Authorization", "Bearer chopin-demo-token")])
        #expect(me.status == .ok && me.header("Content-Type") == "application/json")
        let c = try app.connect()   // one connection: pipelining, raw bytes, the close
        try c.send(raw: Array("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
        #expect(try c.response().text == "Hello, World!")
    }

    @Test func crashIsolationSnippet() throws {
        let router = Router()
        var config = Configuration(host: "0.0.0.0", port: 8080)
        config.isolation = .sharedProcess   // the default; .processPerWorker for stateless services
        let server = Server(configuration: config)
        router.get("/ready", server.readinessHandler)  // 503 while this worker drains
        _ = { server.serve(router) }  // compiled, not run
        #expect(server.configuration.isolation == .sharedProcess)
        #expect(Configuration(host: "0.0.0.0", port: 8080).isolation == .sharedProcess, "the default")
        #expect(router.registrations.map(\.pattern) == ["/ready"])
    }

    @Test func requestAndHTTPTypesSnippet() throws {
        let router = Router()
        router.get("/inspect") { ctx in
            let names = ctx.headers.map(\.name).joined(separator: ",")  // every header, in order, names as sent
            return .text("\(ctx.version) from \(ctx.peer?.description ?? "?"): \(names)")  // "HTTP/1.1 from 127.0.0.1:51234: ..."
        }
        router.on(HTTPRequest.Method.put, "/items") { ctx in
            Response(status: HTTPResponse.Status.accepted, headerFields: [.cacheControl: "no-store"])
                .headerFields([.vary: ctx.headerFields[.userAgent] ?? "-"])
        }
        var config = Configuration(port: 8080)
        config.headerTimeout = .seconds(5)  // every timeout is a Duration (and, as before, ...Milliseconds)
        config.handlerTimeout = .milliseconds(1500)
        try config.validate()
        #expect(try router.freeze().nodes.count > 1)
    }

    @Test func staticFilesAndCompressionSnippet() throws {
        struct Row: Codable, Sendable { let id: Int }
        let rows = [1, 2, 3]
        let router = Router()
        router.files("/assets", directory: "public")  // GET /assets/css/site.css -> public/css/site.css
        router.group("/api") { api in
            api.use(Compression())  // gzip or deflate when Accept-Encoding allows
            api.use(RequestDecompression())  // bodies sent with Content-Encoding gzip or deflate
            api.get("/rows") { ctx in ctx.json(rows) }
            api.post("/rows") { (ctx: Context, row: Json<Row>) in .text("added \(row.value.id)") }
        }
        #expect(router.registrations.count == 4)
        router.files(
            "/static", directory: "dist",
            cacheControl: "public, max-age=86400",  // on 200, 206 and 304
            precompressed: true)  // app.js.br / app.js.gz when accepted
        #expect(router.registrations.count == 6)
    }

    @Test func webSocketSnippet() throws {
        let router = Router()
        router.webSocket("/ws", subprotocols: ["chat.v2", "chat.v1"]) { ws in
            // ws.subprotocol: the first of ours the client offered, named in the 101 (nil: none agreed)
            for try await message in ws.messages { try await ws.send(message) }
            if let close = ws.clientClose { print("client closed: \(close.code) \(close.reason)") }
        }
        #expect(router.registrations.map { "\($0.method) \($0.pattern)" } == ["GET /ws"])
    }

    /// "Behind a reverse proxy": the client's address from trusted proxies.
    @Test func trustedProxiesSnippet() throws {
        var config = Configuration()
        config.trustedProxies = ["127.0.0.1", "10.0.0.0/8"]  // addresses and CIDR ranges; empty: none
        config.clientAddressHeader = .xForwardedFor  // or .forwarded (RFC 7239): the one your proxy appends to
        let router = Router()
        router.get("/whoami") { req in .text(req.clientAddress?.description ?? "-") }
        try config.validate()
        #expect(router.registrations.count == 1)
    }

    @Test func asyncHandlersSnippet() throws {
        let router = Router()
        router.get("/sleep") { (req: Request, nap: Query<Nap>) async throws -> Response in
            try await Task.sleep(for: .milliseconds(nap.value.ms))  // or a database, another service...
            return .text("slept \(nap.value.ms) ms for \(req.header("User-Agent") ?? "someone")")
        }
        router.get("/user/:id") { (req: Request, id: Path<UInt64>) async in
            .json(User(id: id.value, username: "kowito"))
        }
        router.get("/events") { (_: Request) async in
            .stream(contentType: "text/event-stream") { out in
                for i in 1...3 {
                    try await out.write("data: tick \(i)\n\n")
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        router.post("/upload") { (req: Request, body: RequestBodyStream) async throws -> Response in
            var bytes = 0
            for try await chunk in body { bytes += chunk.count }  // or hash it, write it to a file...
            return .text("\(bytes) bytes")
        }
        let tree = try router.freeze()
        #expect(tree.nodes.count > 1)
        #expect(router.registrations.last?.endpoint.streamsBody == true)
    }

    /// "Logging, metrics and service lifecycle": the three snippets.
    @Test func observabilitySnippets() throws {
        let router = Router()
        do {
            var server = try Server.bind("0.0.0.0:8080")
            server.logger = Logger(label: "my-app")
            router.use(RequestLogger())  // label "chopin.access", .info
            #expect(server.logger.label == "my-app")
        }
        let server: Server
        do {
            var s = try Server.bind("0.0.0.0:8080")
            s.metricsInterval = .seconds(1)  // to MetricsSystem's backend; nil (default): off
            router.get("/metrics", s.prometheusHandler)
            server = s
        }
        #expect(server.metricsInterval == .seconds(1))
        let tree = try router.freeze()
        #expect(tree.nodes.count > 1)
    }

    struct Database: Service {
        func run() async throws { try? await gracefulShutdown() }
    }

    @Test func serviceLifecycleSnippet() throws {
        let router = Router()
        let database = Database()
        // Built, not run: running it is ObservabilityTests' serviceGroupDrainsTheServer.
        func run() async throws {
            let chopin = ChopinService(try Server.bind("0.0.0.0:8080"), router: router)
            let group = ServiceGroup(
                services: [chopin, database], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "app"))
            try await group.run()
        }
        _ = run
    }
}
