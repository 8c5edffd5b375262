import Foundation
import ChopinJSON
import HTTPTypes
import Logging
import ServiceLifecycle
import Synchronization
import ChopinTesting
import Testing
import XCTest

@testable import Chopin

// JSON.md's @JSON snippet (at file scope: the macro's extensions name the
// member types unqualified).
@JSON(keys: .snakeCase)
struct Order {
    let id: UInt64
    let customerName: String  // "customer_name"
    var note: String? = nil  // absent or null is nil; nil is left out when written
    @JSONKey("lines") let items: [OrderLine]
}
@JSON struct OrderLine { let sku: String; let price: Double }

/// The DocC catalog's snippets (Sources/Chopin/Chopin.docc), verbatim, so
/// that they keep compiling and registering. Their behaviour is tested
/// where the feature is (RequestAPITests, AsyncHandlerTests, ...).
@Suite struct DocSnippetTests {
    struct User: Codable { let id: UInt64; let username: String }

    // GettingStarted.md
    @Test func gettingStarted() throws {
        let router = Router()
        router.get("/plaintext") { _ in .text("Hello, World!") }
        router.get("/user/:id") { (req: Request, id: Path<UInt64>) in
            req.json(User(id: id.value, username: "kowito"))
        }
        let server = try Server.bind("0.0.0.0:8080").configured { config in
            config.workers = 4  // 0: one per CPU
            config.backend = .epoll  // .auto (default), .uring, .epoll
            config.maxBody = 8 << 20
        }
        #expect(server.configuration.workers == 4 && server.configuration.backend == .epoll)

        let hits = Mutex(0)
        router.get("/hits") { _ in
            let n = hits.withLock { count in
                count += 1
                return count
            }
            return .text("\(n)")
        }
        #expect(try router.freeze().nodes.count > 1)
    }

    // Routing.md
    struct ServerTiming: Middleware {
        func handle(_ request: Request, next: Next) async throws -> Response {
            let start = ContinuousClock.now
            let response = try await next(request)
            return response.header("Server-Timing", "app;dur=\(ContinuousClock.now - start)")
        }
    }

    @Test func routing() throws {
        let router = Router()
        router.get("/plaintext") { _ in .text("Hello, World!") }
        router.on(Method("M-SEARCH"), "/x") { _ in Response(status: .ok) }
        router.on(HTTPRequest.Method.put, "/items/:id") { (ctx: Context, id: Path<Int>) in
            .text("stored \(id.value)")
        }
        let api = router.group("/api")
        api.get("/health") { _ in .text("ok") }
        router.use(ServerTiming())
        #expect(try router.freeze().nodes.count > 1)
    }

    // Middleware.md
    struct PipelineUser: Sendable { let name: String }

    actor Sessions {
        var users: [String: PipelineUser] = ["t0ken": PipelineUser(name: "ada")]
        func user(forToken token: String) -> PipelineUser? { users[token] }
    }

    struct BearerAuth: Middleware {
        let sessions: Sessions
        func handle(_ request: Request, next: Next) async throws -> Response {
            guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
                  let user = await sessions.user(forToken: String(header.dropFirst(7)))
            else { throw HTTPError(.unauthorized, headers: [("WWW-Authenticate", "Bearer")]) }
            var request = request
            request.storage[PipelineUser.self] = user
            return try await next(request)
        }
    }

    struct SyncServerTiming: SyncMiddleware {
        private enum Started: RequestStorageKey { typealias Value = ContinuousClock.Instant }

        func before(_ request: inout Request) throws -> Response? {
            request.storage[key: Started.self] = .now
            return nil
        }

        func after(_ request: Request, response: inout Response) throws {
            guard let start = request.storage[key: Started.self] else { return }
            response.headers.append(("Server-Timing", "app;dur=\(ContinuousClock.now - start)"))
        }
    }

    struct Problem: Encodable { let title: String; let status: Int }

    @Test func middlewareArticle() throws {
        let router = Router()
        router.group("/api") { api in
            api.use(BearerAuth(sessions: Sessions()))
            api.get("/me") { req in .text(req.storage[PipelineUser.self]?.name ?? "") }
            api.get("/me/async") { (req: Request) async in .text(req.storage[PipelineUser.self]?.name ?? "") }
        }
        router.use(SyncServerTiming())
        router.renderErrors { report, request in
            var answer = Response.json(Problem(title: report.message, status: report.status.code), status: report.status)
            answer.contentType = "application/problem+json"
            return answer
        }
        let server = try startServer(router)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        var r = try c.request("GET", "/api/me")
        #expect(r.status == 401 && r.header("Content-Type") == "application/problem+json")
        #expect(r.text == #"{"title":"unauthorized","status":401}"# && r.header("Server-Timing") != nil)
        r = try c.request("GET", "/api/me/async", headers: ["Authorization": "Bearer t0ken"])
        #expect(r.text == "ada" && r.header("Server-Timing")?.hasPrefix("app;dur=") == true)
    }

    // Extractors.md
    struct Search: Decodable { let q: String; let limit: Int? }

    struct BearerToken: FromRequest {
        let token: String
        static func extract(from req: Request) throws -> BearerToken {
            guard let value = req.header("Authorization"), value.hasPrefix("Bearer ") else {
                throw ExtractionError(.unauthorized, "a bearer token is required", field: "Authorization")
            }
            return BearerToken(token: String(value.dropFirst(7)))
        }
    }

    @Test func extractors() throws {
        let router = Router()
        router.get("/search") { (ctx: Context, search: Query<Search>) in
            .text("\(search.value.q) \(search.value.limit ?? 10)")
        }
        router.get("/static/*path") { (ctx: Context, file: RelativePath) in
            .text(file.path)  // "..", "%2F" and NUL refused with 400
        }
        router.get("/me") { (ctx: Context, token: BearerToken) in .text(token.token) }
        #expect(try router.freeze().nodes.count > 1)
    }

    // RequestsAndResponses.md
    @Test func requestsAndResponses() throws {
        let router = Router()
        router.get("/inspect") { ctx in
            var lines: [String] = []
            for (name, value) in ctx.headers { lines.append("\(name): \(value)") }  // every header, in order
            let who = ctx.peer?.description ?? "unknown"  // "203.0.113.7:51234"
            return .text("\(ctx.method) \(ctx.path) \(ctx.version) from \(who)\n" + lines.joined(separator: "\n"))
        }
        router.on(HTTPRequest.Method.put, "/items") { ctx in
            let agent = ctx.headerFields[.userAgent] ?? "-"  // the request's headers as HTTPFields
            return Response(status: HTTPResponse.Status.accepted, headerFields: [.cacheControl: "no-store"])
                .headerFields([.vary: agent])
        }
        #expect(try router.freeze().nodes.count > 1)
    }

    // JSON.md
    struct Todo: Codable, Sendable { let id: Int; let title: String }

    @Test func json() throws {
        let router = Router()
        router.post("/todos") { (ctx: Context, todo: Json<Todo>) in
            ctx.json(todo.value, status: .created)
        }
        let order = try JSON.decode(
            Order.self, from: Array(#"{"id":1,"customer_name":"Ada","lines":[]}"#.utf8))
        #expect(order.customerName == "Ada" && order.note == nil)
        #expect(try router.freeze().nodes.count > 1)
    }

    // FilesAndCompression.md
    @Test func filesAndCompression() throws {
        let router = Router()
        router.files("/assets", directory: "public", index: "index.html")
        router.group("/api") { api in
            api.use(Compression(minimumSize: 1024))
            api.use(RequestDecompression(maxSize: 8 << 20))
            api.get("/report") { ctx in .text(String(repeating: "row\n", count: 1000)) }
            api.post("/events") { ctx in .text("\(ctx.body.count) bytes inflated\n") }
        }
        #expect(router.registrations.count == 4)
    }

    // Errors.md
    @Test func errors() throws {
        let router = Router()
        router.get("/users/:id") { (ctx: Context, id: Path<Int>) throws -> Response in
            guard id.value > 0 else { throw HTTPError(.notFound, "no user \(id.value)") }
            return .text("user \(id.value)")
        }
        #expect(try router.freeze().nodes.count > 1)
    }

    // AsyncHandlers.md
    struct Nap: Decodable, Sendable { let ms: Int }

    @Test func asyncHandlers() throws {
        let router = Router()
        router.get("/sleep") { (req: Request, nap: Query<Nap>) async throws -> Response in
            try await Task.sleep(for: .milliseconds(nap.value.ms))
            return .text("slept \(nap.value.ms) ms for \(req.peer?.host ?? "someone")")
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
            for try await chunk in body { bytes += chunk.count }
            return .text("\(bytes) bytes")
        }
        #expect(try router.freeze().nodes.count > 1)
    }

    // Observability.md
    @Test func observability() async throws {
        let router = Router()
        var server = try Server.bind("0.0.0.0:8080")
        server.logger = Logger(label: "my-app")
        router.use(RequestLogger())
        server.metricsInterval = .seconds(1)
        router.get("/metrics", server.prometheusHandler)
        let chopin = ChopinService(try Server.bind("0.0.0.0:8080"), router: router)
        let group = ServiceGroup(services: [chopin], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "app"))
        _ = group  // not run here: ObservabilityTests runs a group over real sockets
        #expect(try router.freeze().nodes.count > 1)
    }

    // WebSocket.md
    @Test func webSocket() throws {
        let router = Router()
        router.webSocket("/chat", maxMessageBytes: 64 << 10) { ws in
            try await ws.send(text: "hello \(ws.request.query)")
            for try await message in ws.messages {
                switch message {
                case .text(let text): try await ws.send(text: text.uppercased())
                case .binary(let bytes): try await ws.send(bytes)
                }
            }
        }
        #expect(router.registrations.count == 1)
        router.webSocket("/live", subprotocols: ["graphql-transport-ws", "graphql-ws"]) { ws in
            guard ws.subprotocol != nil else {
                try await ws.close(code: 4400, reason: "no common subprotocol")
                return
            }
            for try await message in ws.messages { try await ws.send(message) }
            if let close = ws.clientClose { print("closed by the client: \(close.code) \(close.reason)") }
        }
        _ = try router.freeze()
    }

    // WebSocket.md: behind a middleware that awaits.
    actor TicketStore {
        func user(for ticket: String) -> String? { ticket == "t1" ? "ada" : nil }
    }
    struct Ticket: Sendable { let user: String }
    struct TicketQuery: Decodable { let ticket: String }

    struct TicketCheck: Middleware {
        let tickets: TicketStore  // an actor, a database...
        func handle(_ request: Request, next: Next) async throws -> Response {
            guard let id = try? Query<TicketQuery>.extract(from: request).value.ticket,
                  let user = await tickets.user(for: id)
            else {
                throw HTTPError(.unauthorized, "no ticket")
            }
            var request = request
            request.storage[Ticket.self] = Ticket(user: user)
            return try await next(request)
        }
    }

    @Test func webSocketBehindMiddleware() throws {
        let router = Router()
        let store = TicketStore()
        router.group("/live") { live in
            live.use(TicketCheck(tickets: store))
            live.webSocket("/feed") { ws in
                try await ws.send(text: "hello \(ws.request.storage[Ticket.self]?.user ?? "")")
                for try await message in ws.messages { try await ws.send(message) }
            }
        }
        _ = try router.freeze()  // refused before WebSocket routes could sit behind a middleware that awaits
    }

    // FilesAndCompression.md: the per-mount options.
    @Test func fileMounts() throws {
        let router = Router()
        router.files(
            "/static", directory: "dist",
            cacheControl: "public, max-age=31536000, immutable",  // every answer of the mount, 304 too
            precompressed: true)  // dist/app.js.br or dist/app.js.gz for clients that take them
        router.files("/site", directory: "site", dotfiles: .served)  // site/.well-known/... is served
        #expect(router.registrations.count == 4)
    }

    // Deployment.md: the client's address behind a proxy.
    @Test func trustedProxies() throws {
        var config = Configuration(host: "127.0.0.1", port: 8080)
        config.trustedProxies = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]
        config.clientAddressHeader = .xForwardedFor
        try config.validate()
    }

    // CrashIsolation.md: everything but the last line, which would serve.
    @Test func crashIsolation() throws {
        let router = Router()
        router.get("/plaintext") { _ in .text("Hello, World!") }
        var server = Server(configuration: Configuration(host: "0.0.0.0", port: 8080))
        server.configuration.isolation = .sharedProcess  // the default; .processPerWorker, .threads
        router.get("/ready", server.readinessHandler)  // 503 while this worker drains
        router.get("/metrics", server.prometheusHandler)  // chopin_worker_restarts_total among them
        _ = { [server] in server.serve(router) }  // compiled, not run
        #expect(router.registrations.count == 3)
    }

    // HTTPS.md: its snippets, with pairs made for the test (the article's paths are a server's).
    @Test func https() throws {
        let pair = try TLSTests.pair("first")
        let router = Router()
        router.get("/plaintext") { _ in .text("Hello, World!") }
        let tls = TLSConfiguration(
            certificateChain: .file(pair.certificate),
            privateKey: .file(pair.key))
        _ = { try Server.bind("0.0.0.0:8443", tls: tls).serve(router) }  // compiled, not run
        let running = try Server.bind("127.0.0.1:0", tls: tls).configured { $0.drainMilliseconds = 0 }.start(router)
        try running.reloadTLS()  // the same files, read again
        running.stop()
        let redirect = try Server.bind("127.0.0.1:0")
            .configured { $0.isolation = .threads; $0.workers = 1; $0.drainMilliseconds = 0 }
            .start(.redirectingToHTTPS())
        redirect.stop()
        // Kernel TLS
        var userSpace = TLSConfiguration(
            certificateChain: .file(pair.certificate),
            privateKey: .file(pair.key))
        userSpace.kernelTLS = false  // OpenSSL seals every record, in the worker
        #expect(try Server.bind("127.0.0.1:0", tls: userSpace).configuration.tls?.kernelTLS == false)
    }

    // ConfigurationAndLimits.md
    @Test func configuration() throws {
        var config = Configuration(host: "0.0.0.0", port: 8080)
        config.workers = 4
        config.maxBody = 8 << 20
        config.headerTimeout = .seconds(5)
        config.handlerTimeout = .milliseconds(1500)
        try config.validate()
        let server = Server(configuration: config)
        #expect(server.configuration.headerTimeoutMilliseconds == 5000)
    }

    // Tracing.md: its swift-otel bootstrap is Examples/tracing-otel's main.swift
    // (compiled by `make example-otel`), its code word for word.
    @Test func tracingBootstrapIsTheOTelExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let article = try String(
            contentsOf: root.appendingPathComponent("Sources/Chopin/Chopin.docc/Tracing.md"), encoding: .utf8)
        let example = try String(
            contentsOf: root.appendingPathComponent("Examples/tracing-otel/Sources/chopin-otel/main.swift"),
            encoding: .utf8)
        let code = example.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { $0.hasPrefix("//") }.joined(separator: "\n")
        let blocks = article.components(separatedBy: "```swift\n").dropFirst()
            .map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.contains(code), "Tracing.md's bootstrap differs from Examples/tracing-otel")
    }
}

// ChopinTesting.docc: the Swift Testing and XCTest examples, verbatim.
private struct Greeting: Codable { let message: String }

private func appRouter() -> Router {
    let router = Router()
    router.get("/hello/:name") { req in req.json(Greeting(message: "hello \(try req.param("name") ?? "")")) }
    router.get("/slow") { (_: Request) async throws -> Response in
        try await Task.sleep(for: .milliseconds(10))
        return .text("done")
    }
    return router
}

@Test func greets() throws {
    let app = try TestApp(appRouter())
    defer { app.stop() }
    let response = try app.get("/hello/ada")
    #expect(response.status == .ok)
    #expect(try response.json(Greeting.self).message == "hello ada")
    #expect(try app.get("/nowhere").status == .notFound)
}

final class ChopinTestingXCTests: XCTestCase {
    func testSlowRouteAnswers() throws {
        let app = try TestApp(appRouter()) { $0.handlerTimeout = .seconds(1) }
        defer { app.stop() }
        XCTAssertEqual(try app.get("/slow").text, "done")
    }
}
