import HTTPTypes
import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// The port this client's socket is bound to, as the server sees it.
private func localPort(of client: TestClient) -> UInt16 {
    var addr = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client.fd, $0, &len) }
    }
    return UInt16(bigEndian: addr.sin_port)
}

/// Routes that answer with what the request API says about the request,
/// sync and async, and routes registered and answered with swift-http-types.
private func inspectingRouter() -> Router {
    let router = Router()
    router.get("/inspect") { ctx in
        let headers = ctx.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        let peer = ctx.peer.map { "\($0.host) \($0.port) \($0)" } ?? "none"
        return .text("\(ctx.version) [\(headers)] \(peer) \(ctx.headers.count)")
    }
    router.get("/async/inspect") { (req: Request) async in
        let headers = req.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        let peer = req.peer.map { "\($0.host) \($0.port) \($0)" } ?? "none"
        return .text("\(req.version) [\(headers)] \(peer) \(req.headers.count)")
    }
    router.on(HTTPRequest.Method.put, "/types") { ctx in
        var fields = ctx.headerFields
        fields[.cacheControl] = "no-store"
        let agent = fields[.userAgent] ?? "-"
        return Response(status: HTTPResponse.Status.accepted, headerFields: fields).headerFields([.vary: agent])
    }
    router.on(HTTPRequest.Method(rawValue: "PURGE") ?? .delete, "/types") { (req: Request) async in
        .text("\(req.httpMethod) \(req.headerFields[.userAgent] ?? "-")", status: HTTPResponse.Status.ok)
    }
    router.post("/types/json") { ctx in ctx.json(["made": ctx.httpMethod.rawValue], status: HTTPResponse.Status.created) }
    router.get("/types/error") { _ throws -> Response in throw HTTPError(HTTPResponse.Status.conflict, "taken") }
    return router
}

extension EndToEndTests {
    /// Headers, version, peer and swift-http-types over real sockets, on both
    /// backends (nested in the serialized suite: these handlers allocate).
    @Suite struct RequestAPI {
        @Test(arguments: backends) func headersVersionAndPeer(backend: Backend) throws {
            let server = try startServer(inspectingRouter(), backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let port = localPort(of: c)
            for path in ["/inspect", "/async/inspect"] {
                try c.send("GET \(path) HTTP/1.1\r\nHost: test\r\nX-One: 1\r\nx-two: a, b\r\nX-One: again\r\n\r\n")
                let r = try c.read()
                #expect(
                    r.text == "HTTP/1.1 [Host=test,X-One=1,x-two=a, b,X-One=again] 127.0.0.1 \(port) 127.0.0.1:\(port) 4",
                    "\(path)")
                try c.send("GET \(path) HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                #expect(try c.read().text.hasPrefix("HTTP/1.0 [Connection=keep-alive] 127.0.0.1 \(port) "), "\(path)")
            }
            // A second connection comes from another port, and is told so.
            let d = try TestClient(port: server.port)
            #expect(try d.request("GET", "/inspect").text.contains(" 127.0.0.1 \(localPort(of: d)) "))
        }

        @Test(arguments: backends) func httpTypesInAndOut(backend: Backend) throws {
            let server = try startServer(inspectingRouter(), backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            var r = try c.request("PUT", "/types", headers: ["User-Agent": "curl/8"])
            #expect(r.status == 202)
            #expect(r.header("Cache-Control") == "no-store" && r.header("Vary") == "curl/8")
            #expect(r.header("User-Agent") == "curl/8")  // the request's fields, sent back
            r = try c.request("PURGE", "/types", headers: ["User-Agent": "curl/8"])
            #expect(r.status == 200 && r.text == "PURGE curl/8")
            r = try c.request("POST", "/types/json")
            #expect(r.status == 201 && r.text == #"{"made":"POST"}"#)
            r = try c.request("GET", "/types/error")
            #expect(r.status == 409 && r.text.contains("taken"))
        }

        /// A Duration timeout is the same setting as its milliseconds: an
        /// idle keep-alive connection is closed once idleTimeout passes.
        @Test(arguments: backends) func durationTimeoutsReachTheCore(backend: Backend) throws {
            var config = Configuration(host: "127.0.0.1", port: 0)
            config.drainMilliseconds = 0  // a test stops at once
            config.workers = 1
            config.backend = backend
            config.idleTimeout = .milliseconds(150)
            let server = try Server(configuration: config).start(inspectingRouter())
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            #expect(try c.request("GET", "/inspect").status == 200)
            let start = ContinuousClock.now
            #expect(throws: TestClient.Failure.self) { _ = try c.read() }  // the server closes
            let waited = ContinuousClock.now - start
            #expect(waited >= .milliseconds(100) && waited < .seconds(3), "closed after \(waited)")
        }
    }
}

@Suite struct HTTPTypesConversionTests {
    @Test func statusRoundTrips() {
        for code in [100, 200, 201, 204, 301, 404, 418, 422, 500, 503, 599, 999] {
            let status = HTTPStatus(code)
            #expect(HTTPResponse.Status(status)?.code == code)
            #expect(HTTPResponse.Status(status).map(HTTPStatus.init) == status)
        }
        #expect(HTTPStatus(HTTPResponse.Status.created) == .created)
        #expect(HTTPResponse.Status(HTTPStatus(1000)) == nil)
        #expect(HTTPResponse.Status(HTTPStatus(99)) == nil)
    }

    @Test func methodRoundTrips() {
        for name in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "M-SEARCH", "PURGE"] {
            let method = Method(name)
            #expect(HTTPRequest.Method(method)?.rawValue == name)
            #expect(HTTPRequest.Method(method).map(Method.init) == method)
        }
        #expect(Method(HTTPRequest.Method.get) == .get)
        #expect(HTTPRequest.Method(Method("GET(")) == nil)
    }

    @Test func responseHeaderFieldsRoundTrip() {
        var response = Response.text("hi", status: HTTPResponse.Status.accepted)
        #expect(response.status == .accepted)
        response.headerFields = [.cacheControl: "no-store", .vary: "Accept"]
        #expect(response.headers.map { "\($0.name): \($0.value)" } == ["Cache-Control: no-store", "Vary: Accept"])
        response = response.headerFields([.eTag: "\"1\""])
        #expect(response.headerFields[.eTag] == "\"1\"")
        #expect(response.headerFields.count == 3)
        // Chopin's own header list, read as fields.
        #expect(Response().header("X-Trace", "abc").headerFields[HTTPField.Name("x-trace")!] == "abc")
        #expect(Response.json([1], status: HTTPResponse.Status.created).status == .created)
        #expect(HTTPError(HTTPResponse.Status.notFound, "gone").status == .notFound)
    }
}

@Suite struct DurationConfigurationTests {
    @Test func durationsAreTheMillisecondSettings() throws {
        var config = Configuration()
        #expect(config.headerTimeout == .seconds(10))
        #expect(config.handlerTimeout == .seconds(30))
        config.headerTimeout = .milliseconds(1500)
        #expect(config.headerTimeoutMilliseconds == 1500)
        config.bodyTimeout = .microseconds(1)  // rounded up: never earlier than asked
        #expect(config.bodyTimeoutMilliseconds == 1)
        config.lingerTimeout = .zero
        #expect(config.lingerTimeoutMilliseconds == 0)
        config.idleTimeoutMilliseconds = 2000
        #expect(config.idleTimeout == .seconds(2))
        config.writeTimeout = .seconds(4)
        config.shutdownTimeout = .seconds(5)
        config.handlerTimeout = .seconds(6)
        let c = "127.0.0.1".withCString { config.cConfig(host: $0) }
        #expect(c.header_timeout_ms == 1500 && c.body_timeout_ms == 1 && c.linger_timeout_ms == 0)
        #expect(c.write_timeout_ms == 4000 && c.shutdown_timeout_ms == 5000 && c.deferred_timeout_ms == 6000)
        try config.validate()
    }

    @Test func unrepresentableDurationsAreNamed() throws {
        var config = Configuration()
        config.headerTimeout = .seconds(-1)
        do {
            try config.validate()
            Issue.record("a negative timeout was accepted")
        } catch {
            #expect(error.description.hasPrefix("headerTimeout is -1.0 seconds; a timeout is between 0 and"))
        }
        #expect(config.headerTimeoutMilliseconds == 10_000)  // the setting is left as it was
        config.headerTimeout = .seconds(1)  // a good value clears it
        try config.validate()
        config.handlerTimeout = .seconds(Int64(UInt32.max) / 1000 + 1)
        #expect(throws: ConfigurationError.self) { try config.validate() }
        config.handlerTimeout = .milliseconds(Int64(UInt32.max))  // the largest that fits
        #expect(config.handlerTimeoutMilliseconds == UInt32.max)
        config.idleTimeout = .seconds(Int64.max)  // no overflow trap on the way
        #expect(throws: ConfigurationError.self) { try config.validate() }
    }

    @Test func zeroWhereTheCoreRefusesItIsStillAnError() {
        var config = Configuration()
        config.idleTimeout = .zero
        #expect(throws: ConfigurationError.self) { try config.validate() }
    }
}
