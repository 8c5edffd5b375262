import CMallocCounter
import ChopinExampleRoutes
import ChopinTesting
import Testing

@testable import Chopin

/// Over real sockets, on both backends. Serialized: the allocation count
/// looks at every Chopin worker thread in the process.
@Suite(.serialized) struct EndToEndTests {
    static let backends: [Backend] = [.epoll, .uring]

    @Test(arguments: backends) func everyExampleRoute(backend: Backend) throws {
        let server = try startExample(backend)
        defer { server.stop() }
        #expect(server.backend == (backend == .uring ? "io_uring" : "epoll"))
        let c = try TestClient(port: server.port)

        var r = try c.request("GET", "/plaintext")
        #expect(r.status == 200 && r.text == "Hello, World!")
        #expect(r.header("Content-Type") == "text/plain; charset=utf-8")

        r = try c.request("GET", "/json")
        #expect(r.status == 200 && r.text == #"{"message":"Hello, World!"}"#)
        #expect(r.header("Content-Type") == "application/json")

        r = try c.request("GET", "/user/42")
        #expect(r.status == 200 && r.text == #"{"id":42,"username":"kowito"}"#)

        r = try c.request("GET", "/user/abc")
        #expect(r.status == 400 && r.text.contains(#""field":"id""#))

        r = try c.request("POST", "/echo", headers: ["Content-Type": "text/plain"], body: "ping")
        #expect(r.status == 200 && r.text == "ping" && r.header("Content-Type") == "text/plain")

        r = try c.request(
            "POST", "/users", headers: ["Content-Type": "application/json"],
            body: #"{"id": 7, "username": "ada \"the first\""}"#)
        #expect(r.status == 201)
        #expect(try JSON.decode(User.self, from: r.body) == User(id: 7, username: "ada \"the first\""))

        r = try c.request("GET", "/search?q=swift+server&limit=5")
        #expect(r.status == 200 && r.text == #"{"q":"swift server","limit":5}"#)

        r = try c.request("GET", "/static/css/site.css")
        #expect(r.status == 200 && r.text == "css/site.css")

        r = try c.request("GET", "/nowhere")
        #expect(r.status == 404)
    }

    @Test(arguments: backends) func aThrowingHandlerIs500AndTheConnectionGoesOn(backend: Backend) throws {
        let server = try startExample(backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        #expect(try c.request("GET", "/fail").status == 500)
        #expect(try c.request("GET", "/plaintext").status == 200)
        let teapot = try c.request("GET", "/teapot")
        #expect(teapot.status == 418 && teapot.text.contains("short and stout"))
        #expect(try c.request("GET", "/plaintext").status == 200)
    }

    /// A JSON body written in place that outgrows the connection's pooled
    /// output block (16 KiB): it came out with its first 16 KiB zeroed, the
    /// block's bytes past the head lost when the buffer moved to the heap.
    @Test(arguments: backends) func aLargeJSONBodyWrittenInPlaceArrivesWhole(backend: Backend) throws {
        let router = Router()
        router.get("/numbers") { ctx in ctx.json(Array(0..<20_000)) }  // about 110 KB
        let server = try startServer(router, backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        for _ in 0..<2 {  // and again on the same connection, in a buffer already grown
            let reply = try c.request("GET", "/numbers")
            #expect(reply.status == 200)
            #expect(reply.text == "[" + (0..<20_000).map(String.init).joined(separator: ",") + "]")
        }
    }

    @Test(arguments: backends) func extractionFailures(backend: Backend) throws {
        let server = try startExample(backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let json = ["Content-Type": "application/json"]
        // 415: not JSON at all
        var r = try c.request("POST", "/users", headers: ["Content-Type": "text/plain"], body: "{}")
        #expect(r.status == 415)
        // 400: malformed, truncated, hostile
        r = try c.request("POST", "/users", headers: json, body: #"{"id": 1,"#)
        #expect(r.status == 400)
        r = try c.request("POST", "/users", headers: json, body: String(repeating: "[", count: 5000))
        #expect(r.status == 400)
        r = try c.request("POST", "/users", headers: json, body: #"{"id": 99999999999999999999999, "username": "x"}"#)
        #expect(r.status == 400 && r.text.contains(#""field":"id""#))
        // 422: well-formed, wrong shape, naming the field
        r = try c.request("POST", "/users", headers: json, body: #"{"id": "seven", "username": "x"}"#)
        #expect(r.status == 422 && r.text.contains(#""field":"id""#))
        r = try c.request("POST", "/users", headers: json, body: #"{"id": 7}"#)
        #expect(r.status == 422 && r.text.contains(#""field":"username""#))
        // Query: missing or unconvertible fields are 400
        r = try c.request("GET", "/search?limit=3")
        #expect(r.status == 400 && r.text.contains(#""field":"q""#))
        r = try c.request("GET", "/search?q=a&limit=many")
        #expect(r.status == 400 && r.text.contains(#""field":"limit""#))
        // and the connection still serves
        #expect(try c.request("GET", "/plaintext").status == 200)
    }

    @Test(arguments: backends) func methodsAndHead(backend: Backend) throws {
        let server = try startExample(backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let r = try c.request("DELETE", "/plaintext")
        #expect(r.status == 405 && r.header("Allow") == "GET, HEAD")
        #expect(try c.request("PURGE", "/plaintext").status == 501)
        let head = try c.request("HEAD", "/plaintext")
        #expect(head.status == 200)
        #expect(try c.request("GET", "/plaintext").text == "Hello, World!")  // nothing left over from HEAD
    }

    /// The hot routes allocate nothing per request once warm: counted by a
    /// malloc interposer on the worker threads.
    @Test(arguments: backends) func zeroAllocationsPerRequest(backend: Backend) throws {
        let server = try startExample(backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        // /layered/*: behind three synchronous middleware.
        for target in ["/plaintext", "/json", "/user/12345", "/layered/plaintext", "/layered/json"] {
            var request = Array("GET \(target) HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
            for _ in 0..<200 { try c.send(&request); _ = try c.read() }
            malloc_counter_start()
            for _ in 0..<2000 { try c.send(&request); _ = try c.read() }
            let allocations = malloc_counter_stop()
            #expect(allocations == 0, "\(target): \(allocations) allocations in 2000 requests")
        }
        // A decoding route: a small @JSON body read by Json<User>, answered with ctx.json.
        let body = #"{"id":12345,"username":"kowito"}"#
        var post = Array(
            "POST /users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                .utf8)
        for _ in 0..<200 { try c.send(&post); _ = try c.read() }
        malloc_counter_start()
        for _ in 0..<2000 { try c.send(&post); _ = try c.read() }
        let allocations = malloc_counter_stop()
        #expect(allocations == 0, "POST /users: \(allocations) allocations in 2000 requests")
    }
}

/// Middleware over real sockets: order, CORS on an in-place JSON response,
/// preflight, and routes without middleware untouched.
@Suite(.serialized) struct MiddlewareTests {
    struct Tag: SyncMiddleware {
        let name: String
        func after(_ request: Request, response: inout Response) {
            response.headers.append(("X-Trace", name))
        }
    }

    @Test func orderCorsAndPreflight() throws {
        let router = Router()
        router.use(CORS(allowedOrigins: ["https://a.example"]))
        router.use(RequestLogger())
        router.get("/json") { ctx in ctx.json(User(id: 1, username: "x")) }
        router.group("/g") { g in
            g.use(Tag(name: "outer"))
            g.use(Tag(name: "inner"))
            g.get("/t") { _ in .text("t") }
        }
        let app = try TestApp(router)
        defer { app.stop() }
        let c = try app.connect()

        var r = try c.request(.get, "/json", headers: [("Origin", "https://a.example")])
        #expect(r.status.code == 200 && r.text == #"{"id":1,"username":"x"}"#)
        #expect(r.header("Access-Control-Allow-Origin") == "https://a.example")

        r = try c.request(.get, "/json", headers: [("Origin", "https://evil.example")])
        #expect(r.header("Access-Control-Allow-Origin") == nil)

        r = try c.request(
            .options, "/json", headers: [("Origin", "https://a.example"), ("Access-Control-Request-Method", "GET")])
        #expect(r.status.code == 204 && r.header("Access-Control-Allow-Methods") != nil)

        r = try c.request(.get, "/g/t")
        let traces = r.headers(named: "X-Trace")
        #expect(traces == ["inner", "outer"])  // inner wraps the handler, outer wraps inner
    }
}

/// The protocol rules hold through the Swift API too (the C core frames
/// requests before Swift sees them): raw bytes, status, and close.
@Suite(.serialized) struct SwiftConformanceTests {
    struct Case: Sendable, CustomStringConvertible {
        let rfc: String
        let raw: String
        let status: Int
        let closes: Bool
        var description: String { "RFC \(rfc): \(raw.prefix(40))" }
    }

    static let cases: [Case] = [
        Case(
            rfc: "9112 6.3",
            raw: "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 400, closes: true),
        Case(rfc: "9112 5.1", raw: "GET /plaintext HTTP/1.1\r\nHost : t\r\n\r\n", status: 400, closes: true),
        Case(rfc: "9112 3.2", raw: "GET /plaintext HTTP/1.1\r\n\r\n", status: 400, closes: true),
        Case(rfc: "9110 6.2", raw: "GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n", status: 505, closes: true),
        Case(
            rfc: "9110 10.1.1", raw: "GET /plaintext HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n", status: 417,
            closes: true),
        Case(
            rfc: "9110 15.5.14", raw: "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\n\r\n", status: 413,
            closes: true),
        Case(rfc: "9110 9.1", raw: "BREW /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", status: 501, closes: false),
        Case(
            rfc: "9110 15.5.6", raw: "PUT /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", status: 405,
            closes: false),
        Case(
            rfc: "9112 7.1",
            raw: "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            status: 200, closes: false),
        Case(
            rfc: "9112 9.6", raw: "GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", status: 200,
            closes: true),
    ]

    @Test(arguments: cases) func rawCase(_ k: Case) throws {
        let server = try startExample(.epoll)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        try c.send(k.raw + "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        let first = try c.read()
        #expect(first.status == k.status)
        if k.closes {
            #expect(throws: TestClient.Failure.self) { _ = try c.read() }  // closed, nothing more answered
        } else {
            #expect(try c.read().status == 200)
        }
    }
}
