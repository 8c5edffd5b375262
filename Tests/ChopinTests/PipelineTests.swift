import ChopinTesting
import Logging
import Synchronization
import Testing

@testable import Chopin

// The one request pipeline over real sockets, on both backends: every route
// kind through the same middleware, errors answered in one place, the
// answer written exactly once.

/// Adds a header to every answer, without awaiting.
private struct Stamp: SyncMiddleware {
    func after(_ request: Request, response: inout Response) {
        response.headers.append(("X-Stamp", "sync"))
    }
}

/// Adds a header to every answer, as a middleware that may await.
private struct AsyncStamp: Middleware {
    func handle(_ request: Request, next: Next) async throws -> Response {
        try await next(request).header("X-Async-Stamp", "async")
    }
}

/// Calls the rest of the chain, then answers something else instead.
private struct Substitute: Middleware {
    func handle(_ request: Request, next: Next) async throws -> Response {
        let original = try await next(request)
        return .text("substituted \(original.status.code)", status: .accepted)
    }
}

/// The same as a SyncMiddleware.
private struct SyncSubstitute: SyncMiddleware {
    func after(_ request: Request, response: inout Response) {
        response = .text("substituted \(response.status.code)", status: .accepted)
    }
}

private struct User: Sendable { let name: String }

/// A bearer token looked up in a store that awaits.
private struct TokenAuth: Middleware {
    func handle(_ request: Request, next: Next) async throws -> Response {
        try await Task.sleep(for: .milliseconds(2))  // the lookup
        guard request.header("Authorization") == "Bearer t0ken" else {
            throw HTTPError(.unauthorized, "who are you?", headers: [("WWW-Authenticate", "Bearer")])
        }
        var request = request
        request.storage[User.self] = User(name: "ada")
        return try await next(request)
    }
}

private struct Item: Codable, Sendable { let name: String }
private struct Boom: Error {}

/// One of each route kind and each way to fail, synchronous and async.
private func pipelineRouter(global: [any Middleware]) -> Router {
    let router = Router()
    for m in global { router.use(m) }
    router.get("/sync/ok") { _ in .text("ok") }
    router.get("/async/created") { (_: Request) async -> Response in .text("made", status: .created) }
    router.get("/sync/json") { req in req.json(Item(name: "in place")) }
    router.get("/sync/throw404") { _ throws -> Response in throw HTTPError(.notFound, "no such thing") }
    router.get("/async/throw404") { (_: Request) async throws -> Response in throw HTTPError(.notFound, "no such thing") }
    router.get("/sync/boom") { _ throws -> Response in throw Boom() }
    router.get("/async/boom") { (_: Request) async throws -> Response in throw Boom() }
    router.get("/sync/n/:n") { (_: Request, n: Path<Int>) in .text("\(n.value)") }
    router.get("/async/n/:n") { (_: Request, n: Path<Int>) async in .text("\(n.value)") }
    router.post("/sync/item") { (_: Request, item: Json<Item>) in .text(item.value.name) }
    router.post("/async/item") { (_: Request, item: Json<Item>) async in .text(item.value.name) }
    router.get("/async/slow") { (_: Request) async throws -> Response in
        try await Task.sleep(for: .seconds(10))
        return .text("late")
    }
    router.get("/async/stubborn") { (_: Request) async -> Response in
        try? await Task.sleep(for: .seconds(10))  // answers even when cancelled
        return .text("stubborn")
    }
    router.group("/sub") { g in
        g.use(Substitute())
        g.get("/async") { (_: Request) async -> Response in .text("original async") }
        g.get("/sync") { _ in .text("original sync") }
        g.get("/json") { req in req.json(Item(name: "original")) }
    }
    router.group("/syncsub") { g in
        g.use(SyncSubstitute())
        g.get("/async") { (_: Request) async -> Response in .text("original async") }
        g.get("/json") { req in req.json(Item(name: "original")) }
    }
    router.group("/api") { api in
        api.use(TokenAuth())
        api.get("/me") { req in .text(req.storage[User.self]?.name ?? "nobody") }
        api.get("/me/async") { (req: Request) async -> Response in .text(req.storage[User.self]?.name ?? "nobody") }
        api.post("/items") { (req: Request, item: Json<Item>) in .text("\(req.storage[User.self]?.name ?? "") made \(item.value.name)") }
    }
    router.get("/async/stream") { (_: Request) async in
        Response.stream(contentType: "text/plain") { out in
            for piece in ["ab", "cde"] {
                try await Task.sleep(for: .milliseconds(60))
                try await out.write(piece)
            }
        }
    }
    router.get("/close") { _ in Response.text("bye").closingConnection() }
    router.get("/async/close") { (_: Request) async in Response.text("bye").closingConnection() }
    router.get("/connection-close") { _ in Response.text("bye").header("Connection", "close") }
    router.get("/written/close") { ctx in ctx.json(Item(name: "bye")).closingConnection() }
    router.group("/awaited") { awaited in
        awaited.use(AsyncStamp())
        awaited.get("/written/close") { ctx in ctx.json(Item(name: "bye")).closingConnection() }
    }
    router.get("/framing") { _ in Response.text("x").header("Content-Length", "999").header("Transfer-Encoding", "chunked") }
    router.get("/split") { _ in Response.text("x").header("X-Bad", "a\r\nInjected: 1") }
    router.get("/badname") { _ in Response.text("x").header("Bad Name", "v") }
    return router
}

private func startPipeline(_ backend: Backend, global: [any Middleware], timeoutMs: UInt32 = 30_000) throws
    -> TestApp
{
    try TestApp(pipelineRouter(global: global)) { config in
        config.backend = backend
        config.handlerTimeoutMilliseconds = timeoutMs
    }
}

extension TestConnection {
    /// The shape of the socket tests' client: method and headers as strings.
    fileprivate func request(_ method: String, _ target: String, headers: [String: String] = [:], body: String = "")
        throws -> TestResponse
    {
        try request(Method(method), target, headers: headers.map { ($0.key, $0.value) }, body: Array(body.utf8))
    }
}

extension EndToEndTests {
    @Suite struct Pipeline {
        /// Each error answer, the request that gets it, and its status.
        static let errorCases: [(method: String, target: String, headers: [String: String], body: String, status: Int)] = [
            ("GET", "/nowhere", [:], "", 404),
            ("POST", "/sync/ok", [:], "", 405),
            ("BREW", "/sync/ok", [:], "", 501),
            ("GET", "/sync/throw404", [:], "", 404),
            ("GET", "/async/throw404", [:], "", 404),
            ("GET", "/sync/boom", [:], "", 500),
            ("GET", "/async/boom", [:], "", 500),
            ("GET", "/sync/n/x", [:], "", 400),
            ("GET", "/async/n/x", [:], "", 400),
            ("POST", "/sync/item", [:], "{}", 415),
            ("POST", "/async/item", [:], "{}", 415),
            ("POST", "/sync/item", ["Content-Type": "application/json"], #"{"name":1}"#, 422),
            ("POST", "/async/item", ["Content-Type": "application/json"], #"{"name":1}"#, 422),
            ("GET", "/async/slow", [:], "", 503),
            ("GET", "/async/stubborn", [:], "", 503),
        ]

        @Test(arguments: backends, [false, true])
        func middlewareHeadersReachEveryErrorAnswer(backend: Backend, awaiting: Bool) throws {
            let global: [any Middleware] = awaiting ? [Stamp(), AsyncStamp()] : [Stamp()]
            let server = try startPipeline(backend, global: global, timeoutMs: 300)
            defer { server.stop() }
            let c = try server.connect()
            for e in Self.errorCases {
                let r = try c.request(e.method, e.target, headers: e.headers, body: e.body)
                let what = "\(e.method) \(e.target)"
                #expect(r.status.code == e.status, "\(what): \(r.status) \(r.text)")
                #expect(r.header("X-Stamp") == "sync", "\(what)")
                #expect(r.header("X-Async-Stamp") == (awaiting ? "async" : nil), "\(what)")
                #expect(r.header("Content-Type") == "application/json", "\(what)")
                #expect(r.text.hasPrefix(#"{"error":"#), "\(what): \(r.text)")
            }
            let r = try c.request("POST", "/sync/ok")
            #expect(r.header("Allow") == "GET, HEAD")
            #expect(try c.request("GET", "/sync/json").header("X-Stamp") == "sync")
        }

        @Test(arguments: backends) func theAccessLogHasTheRealStatusAndDuration(backend: Backend) throws {
            let log = CapturedLog()
            let server = try startPipeline(
                backend, global: [RequestLogger(logger: log.logger("chopin.access"))], timeoutMs: 300)
            defer { server.stop() }
            let c = try server.connect()
            #expect(try c.request("GET", "/async/created").status.code == 201)
            #expect(try c.request("GET", "/async/throw404").status.code == 404)
            #expect(try c.request("GET", "/async/slow").status.code == 503)
            #expect(try c.request("GET", "/nowhere").status.code == 404)
            #expect(try c.request("POST", "/sync/ok").status.code == 405)
            #expect(try c.request("GET", "/async/stream").text == "abcde")
            let lines = log.all
            #expect(lines.map { "\($0.metadata["status"] ?? "")" } == ["201", "404", "503", "404", "405", "200"])
            // A streamed answer is logged when its body ended: its bytes, its whole duration.
            let stream = lines.last
            #expect(stream.map { "\($0.metadata["bytes"] ?? "")" } == "5")
            let streamed = Int(stream.map { "\($0.metadata["duration_us"] ?? "0")" } ?? "0") ?? 0
            #expect(streamed >= 110_000, "the stream took \(streamed) us")
            let slow = lines.count > 2 ? Int("\(lines[2].metadata["duration_us"] ?? "0")") ?? 0 : 0
            #expect(slow >= 250_000 && slow < 2_000_000, "the timed-out request took \(slow) us")
            #expect(lines.prefix(5).map { "\($0.metadata["path"] ?? "")" } == ["/async/created", "/async/throw404", "/async/slow", "/nowhere", "/sync/ok"])
        }

        @Test(arguments: backends) func aMiddlewareThatReplacesTheAnswerGivesOneResponse(backend: Backend) throws {
            let server = try startPipeline(backend, global: [])
            defer { server.stop() }
            let c = try server.connect()
            for path in ["/sub/async", "/sub/sync", "/sub/json", "/syncsub/async", "/syncsub/json"] {
                let r = try c.request("GET", path)
                #expect(r.status.code == 202 && r.text == "substituted 200", "\(path): \(r.text)")
            }
            // 200 pipelined requests, replaced async answers among plain ones:
            // one answer each, in order, and nothing more on the connection.
            let cycle = ["/sub/async", "/sync/ok", "/syncsub/async", "/async/created", "/sub/json"]
            let expected = ["substituted 200", "ok", "substituted 200", "made", "substituted 200"]
            var batch = ""
            for i in 0..<200 { batch += "GET \(cycle[i % cycle.count]) HTTP/1.1\r\nHost: t\r\n\r\n" }
            try c.send(raw: Array(batch.utf8))
            for i in 0..<200 {
                let r = try c.response()
                #expect(r.text == expected[i % cycle.count], "answer \(i): \(r.text)")
            }
            #expect(try c.request("GET", "/sync/ok").text == "ok")
        }

        @Test(arguments: backends) func anAsyncMiddlewareAuthenticatesForBothHandlerKinds(backend: Backend) throws {
            let server = try startPipeline(backend, global: [Stamp()])
            defer { server.stop() }
            let c = try server.connect()
            var r = try c.request("GET", "/api/me")
            #expect(r.status.code == 401 && r.header("WWW-Authenticate") == "Bearer" && r.header("X-Stamp") == "sync")
            #expect(r.text == #"{"error":"who are you?"}"#)
            let token = ["Authorization": "Bearer t0ken"]
            #expect(try c.request("GET", "/api/me", headers: token).text == "ada")
            #expect(try c.request("GET", "/api/me/async", headers: token).text == "ada")
            // Middleware runs before the handler's extractors: no token and a
            // bad body is the middleware's 401, not the extractor's 400.
            r = try c.request("POST", "/api/items", headers: ["Content-Type": "application/json"], body: "{")
            #expect(r.status.code == 401)
            r = try c.request("POST", "/api/items", headers: token.merging(["Content-Type": "application/json"]) { a, _ in a }, body: #"{"name":"pen"}"#)
            #expect(r.text == "ada made pen")
        }

        @Test(arguments: backends) func theErrorRendererAnswersEveryError(backend: Backend) throws {
            let router = pipelineRouter(global: [Stamp()])
            router.renderErrors { report, request in
                var answer = Response.text("problem \(report.status.code): \(report.message) at \(request.path)", status: report.status)
                answer.contentType = "application/problem+json"
                return answer
            }
            // Live, on a port: the same answers as in process.
            let server = try TestApp(router, mode: .live) { config in
                config.backend = backend
                config.handlerTimeoutMilliseconds = 300
            }
            defer { server.stop() }
            #expect(server.port != nil)
            let c = try server.connect()
            for e in Self.errorCases + [("GET", "/api/me", [:], "", 401)] {
                let r = try c.request(e.method, e.target, headers: e.headers, body: e.body)
                #expect(r.status.code == e.status, "\(e.target)")
                #expect(r.header("Content-Type") == "application/problem+json", "\(e.method) \(e.target)")
                #expect(r.text.hasPrefix("problem \(e.status): "), "\(e.method) \(e.target): \(r.text)")
                #expect(r.text.hasSuffix(" at \(e.target.split(separator: "?")[0])"), "\(r.text)")
                #expect(r.header("X-Stamp") == "sync")
            }
            // The report's headers stay: the 405's Allow, the 401's WWW-Authenticate.
            #expect(try c.request("POST", "/sync/ok").header("Allow") == "GET, HEAD")
            #expect(try c.request("GET", "/api/me").header("WWW-Authenticate") == "Bearer")
            // A 500's own text is for the log, not for the client.
            #expect(try c.request("GET", "/sync/boom").text == "problem 500: internal server error at /sync/boom")
        }

        @Test(arguments: backends, [false, true])
        func theCoresOwnAnswersHaveTheSameFormat(backend: Backend, custom: Bool) throws {
            let router = pipelineRouter(global: [])
            if custom {
                router.renderErrors { report, _ in
                    var answer = Response.text("problem \(report.status.code): \(report.message)", status: report.status)
                    answer.contentType = "application/problem+json"
                    return answer
                }
            }
            let app = try TestApp(router) { config in
                config.backend = backend
                config.maxBody = 100
                config.maxRequestLine = 200
            }
            defer { app.stop() }
            let cases: [(raw: String, status: Int, reason: String)] = [
                ("GET / HTTP/1.1\r\nHost t\r\n\r\n", 400, "bad request"),
                ("POST /sync/item HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413, "content too large"),
                ("GET /\(String(repeating: "a", count: 300)) HTTP/1.1\r\nHost: t\r\n\r\n", 414, "uri too long"),
                ("GET / HTTP/1.1\r\nHost: t\r\nX: \(String(repeating: "b", count: 20_000))\r\n\r\n", 431,
                 "request header fields too large"),
            ]
            for (raw, status, reason) in cases {
                let c = try app.connect()
                try c.send(raw: Array(raw.utf8))
                let r = try c.response()
                #expect(r.status.code == status)
                #expect(r.header("Connection") == "close")
                if custom {
                    #expect(r.header("Content-Type") == "application/problem+json")
                    #expect(r.text == "problem \(status): \(reason)")
                } else {
                    #expect(r.header("Content-Type") == "application/json")
                    #expect(r.text == #"{"error":"\#(reason)"}"#)
                }
            }
        }

        @Test(arguments: backends) func aResponseCanCloseTheConnection(backend: Backend) throws {
            let server = try startPipeline(backend, global: [])
            defer { server.stop() }
            for path in ["/close", "/async/close", "/connection-close"] {
                let c = try server.connect()
                let r = try c.request("GET", path)
                #expect(r.text == "bye" && r.header("Connection") == "close", "\(path)")
                #expect(try c.isClosedByServer(), "\(path) closes after its answer")
            }
            // Written in place (ctx.json), directly and behind a middleware that awaits.
            for path in ["/written/close", "/awaited/written/close"] {
                let c = try server.connect()
                let r = try c.request("GET", path)
                #expect(r.status == .ok && r.text == #"{"name":"bye"}"#, "\(path)")
                #expect(r.header("Connection") == "close", "\(path) says it closes")
                #expect(try c.isClosedByServer(), "\(path) closes after its answer")
            }
            // HTTP/1.0 with keep-alive: the answer says close instead, once, and the connection closes.
            let old = try server.connect()
            try old.send(raw: Array("GET /written/close HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".utf8))
            let r10 = try old.response()
            #expect(r10.text == #"{"name":"bye"}"# && r10.headers(named: "Connection") == ["close"])
            #expect(try old.isClosedByServer(), "an HTTP/1.0 keep-alive request still closes")
            let c = try server.connect()
            #expect(try c.request("GET", "/sync/ok").header("Connection") == nil)  // HTTP/1.1: kept alive
            #expect(try c.request("GET", "/sync/ok").text == "ok")
        }

        @Test(arguments: backends) func framingAndInvalidHeadersHaveAClearOutcome(backend: Backend) throws {
            let log = CapturedLog()
            let running = try TestApp(pipelineRouter(global: []), logger: log.logger("chopin")) { $0.backend = backend }
            defer { running.stop() }
            let c = try running.connect()
            // The server's own framing, the handler's dropped.
            let r = try c.request("GET", "/framing")
            #expect(r.status.code == 200 && r.text == "x" && r.header("Content-Length") == "1")
            #expect(r.header("Transfer-Encoding") == nil)
            #expect(log.all.contains { $0.message.contains("Content-Length") && $0.message.contains("dropped") })
            // A value that would split the response, a name that is not a token: 500, logged by name.
            #expect(try c.request("GET", "/split").status.code == 500)
            #expect(log.all.contains { $0.level == .error && $0.message.contains("\"X-Bad\"") })
            #expect(try c.request("GET", "/badname").status.code == 500)
            #expect(log.all.contains { $0.message.contains("\"Bad Name\"") })
            #expect(try c.request("GET", "/sync/ok").text == "ok")
        }

        @Test(arguments: backends) func corsAnswersPreflightsAndDecoratesMisses(backend: Backend) throws {
            let server = try startPipeline(backend, global: [CORS(allowedOrigins: ["https://app.example"])])
            defer { server.stop() }
            let c = try server.connect()
            let origin = ["Origin": "https://app.example"]
            // No OPTIONS route anywhere: the preflight is answered on its way to the 405.
            let r = try c.request("OPTIONS", "/api/me", headers: origin.merging(["Access-Control-Request-Method": "GET"]) { a, _ in a })
            #expect(r.status.code == 204 && r.header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(r.header("Access-Control-Allow-Headers") == "Content-Type, Authorization")
            #expect(try c.request("GET", "/nowhere", headers: origin).header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(try c.request("GET", "/api/me", headers: origin).header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(try c.request("GET", "/nowhere", headers: ["Origin": "https://evil.example"]).header("Access-Control-Allow-Origin") == nil)
        }
    }
}

@Suite struct PipelineRegistrationTests {
    /// Behind a middleware that awaits, the upgrade is accepted when the
    /// chain reaches the route (WebSockets.aMiddlewareThatAwaitsGuardsTheUpgrade
    /// runs it over sockets): the router takes it, as one behind a
    /// synchronous middleware.
    @Test func aWebSocketRouteMayBeBehindAnyMiddleware() {
        let awaiting = Router()
        awaiting.use(TokenAuth())
        awaiting.webSocket("/ws") { _ in }
        #expect(throws: Never.self) { try awaiting.freeze() }
        let sync = Router()
        sync.use(Stamp())
        sync.webSocket("/ws") { _ in }
        #expect(throws: Never.self) { try sync.freeze() }
    }

    @Test func storageIsTypedAndEmptyUntilSet() {
        enum RequestID: RequestStorageKey { typealias Value = String }
        var storage = RequestStorage()
        #expect(storage.isEmpty && storage[User.self] == nil)
        storage[User.self] = User(name: "ada")
        storage[key: RequestID.self] = "7f3a"
        storage[String.self] = "a plain string"
        #expect(storage[User.self]?.name == "ada")
        #expect(storage[key: RequestID.self] == "7f3a")
        #expect(storage[String.self] == "a plain string")
        storage[User.self] = nil
        #expect(storage[User.self] == nil)
    }

    @Test(arguments: [false, true]) func headerBytesAreReadWithoutLoss(async: Bool) throws {
        let router = Router()
        let hex: @Sendable (Request) -> String = { req in
            let value = req.headerBytes("X-Name") { Array($0) } ?? []
            let pair = req.headers.withBytes(at: 1) { name, value in Array(name) + [0x3D] + Array(value) }
            return (value + [0x7C] + pair).map { String($0, radix: 16) }.joined(separator: " ")
        }
        if async {
            router.get("/h") { (req: Request) async in .text(hex(req)) }
        } else {
            router.get("/h") { req in .text(hex(req)) }
        }
        let app = try TestApp(router)
        defer { app.stop() }
        let c = try app.connect()
        // "caf" then 0xE9 (Latin-1 e acute): obs-text, which a String would turn into U+FFFD.
        try c.send(raw: Array("GET /h HTTP/1.1\r\nHost: t\r\nX-Name: caf".utf8) + [0xE9] + Array("\r\n\r\n".utf8))
        #expect(try c.response().text == "63 61 66 e9 7c 58 2d 4e 61 6d 65 3d 63 61 66 e9")
    }

    @Test func headerChecks() {
        #expect(HeaderCheck.judge("X-Fine", "ok\tvalue") == .fine)
        #expect(HeaderCheck.judge("content-length", "3") == .framing)
        #expect(HeaderCheck.judge("Transfer-Encoding", "chunked") == .framing)
        #expect(HeaderCheck.judge("Connection", "keep-alive") == .framing)
        #expect(HeaderCheck.judge("Connection", "Upgrade, Close") == .closeRequest)
        #expect(HeaderCheck.judge("X-Bad", "a\nb") != .fine)
        #expect(HeaderCheck.judge("", "v") != .fine)
        #expect(HeaderCheck.judge("Bad:Name", "v") != .fine)
    }
}
