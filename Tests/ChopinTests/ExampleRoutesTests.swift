import ChopinExampleRoutes
import ChopinTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Chopin

/// chopin-example, the tests and the JSON bench share one definition of the
/// example routes (ChopinExampleRoutes): it must stay the list the README
/// and chopin-example promise.
@Suite struct ExampleRoutesTests {
    @Test func theSharedRoutesAreChopinExamplesRoutes() {
        let routes = exampleRouter().registrations.map { "\($0.method) \($0.pattern)" }
        #expect(
            routes == [
                "GET /plaintext", "GET /json", "GET /user/:id", "POST /echo", "POST /users", "GET /search",
                "GET /static/*path", "GET /fail", "GET /async/json", "GET /sleep", "GET /events",
                "GET /bytes", "POST /upload", "GET /crash", "GET /crash/async", "GET /crash/ws", "GET /assets", "GET /assets/*path",
                "GET /large.json", "POST /inflate", "GET /ws", "GET /api/me", "GET /api/me/async",
                "GET /api/ws",
                "GET /layered/plaintext", "GET /layered/json", "GET /awaiting/json", "GET /traced/json", "GET /metered/json", "GET /shelf/hello", "GET /shelf/books",
                "POST /shelf/books", "GET /shelf/books/:isbn", "GET /shelf/covers/:isbn", "POST /shelf/books/:isbn/scan",
                "POST /notes", "GET /notes",
            ])
    }

    /// GET /bytes: N bytes of "abc...z" streamed, whatever N is within the limit.
    @Test func bytesStreamsTheCountAsked() throws {
        let app = try TestApp(exampleRouter())
        defer { app.stop() }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        for n in [0, 1, 65_535, 200_000] {
            let r = try app.get("/bytes?n=\(n)")
            #expect(r.status == .ok && r.body.count == n, "n=\(n): \(r.body.count) bytes")
            #expect(r.body.enumerated().allSatisfy { $0.element == alphabet[$0.offset % 26] }, "n=\(n): the pattern")
        }
        #expect(try app.get("/bytes?n=-1").status == .badRequest)
        #expect(try app.get("/bytes?n=2000000000").status == .badRequest)
    }

    /// The README's bearer-token API: an async middleware that looks the
    /// token up, and both handler kinds reading the user it stored.
    @Test(arguments: EndToEndTests.backends) func theAPINeedsTheBearerToken(backend: Backend) throws {
        let server = try startExample(backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        for path in ["/api/me", "/api/me/async"] {
            var r = try c.request("GET", path)
            #expect(r.status == 401 && r.header("WWW-Authenticate") == #"Bearer realm="chopin-example""#, "\(path)")
            r = try c.request("GET", path, headers: ["Authorization": "Bearer wrong"])
            #expect(r.status == 401, "\(path)")
            r = try c.request("GET", path, headers: ["Authorization": "Bearer \(exampleAPIToken)"])
            #expect(r.status == 200 && r.text == #"{"id":1,"username":"kowito"}"#, "\(path): \(r.text)")
        }
        // The WebSocket behind it: refused without the token, upgraded with it.
        let refused = try TestClient(port: server.port)
        #expect(try refused.upgrade("/api/ws") == 401)
        let ws = try TestClient(port: server.port)
        let upgraded = try ws.upgradeReply("/api/ws", extra: ["Authorization: Bearer \(exampleAPIToken)"])
        #expect(upgraded.status == 101)
        #expect(try ws.readFrame() == (0x1, Array("hello kowito".utf8)))
        try ws.sendFrame(0x1, Array("ping?".utf8))
        #expect(try ws.readFrame() == (0x1, Array("ping?".utf8)))
        #expect(try c.request("GET", "/layered/plaintext").text == "Hello, World!")
        #expect(try c.request("GET", "/layered/plaintext", headers: ["X-Gate-2": "1"]).status == 403)
        #expect(try c.request("GET", "/awaiting/json").text == #"{"message":"Hello, World!"}"#)
        #expect(try c.request("GET", "/traced/json").text == #"{"message":"Hello, World!"}"#)
        #expect(try c.request("GET", "/metered/json").text == #"{"message":"Hello, World!"}"#)
    }

    /// `/assets/*`: css/site.css.gz for a client that takes gzip, cached
    /// for five minutes, a dotfile put there by the test is 404, and the
    /// directory without its slash is 301.
    @Test(arguments: EndToEndTests.backends) func theAssetsMount(backend: Backend) throws {
        let dotfile = exampleAssetsDirectory + "/.chopin-test-\(backend)-\(getpid())"
        let fd = open(dotfile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = write(fd, "secret", 6)
        close(fd)
        defer { unlink(dotfile) }
        let server = try startExample(backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let gz = try c.request("GET", "/assets/css/site.css", headers: ["Accept-Encoding": "gzip"])
        let onDisk = try #require(wholeFile(exampleAssetsDirectory + "/css/site.css.gz"))
        #expect(gz.status == 200 && gz.header("Content-Encoding") == "gzip" && gz.body == onDisk)
        #expect(gz.header("Content-Type") == "text/css; charset=utf-8" && gz.header("Vary") == "Accept-Encoding")
        #expect(gz.header("Cache-Control") == "public, max-age=300")
        let plain = try c.request("GET", "/assets/css/site.css")
        #expect(plain.status == 200 && plain.header("Content-Encoding") == nil)
        #expect(plain.body == wholeFile(exampleAssetsDirectory + "/css/site.css"))
        let hidden = try c.request("GET", "/assets/" + String(dotfile.split(separator: "/").last ?? ""))
        #expect(hidden.status == 404 && !hidden.text.contains("secret"))
        let dir = try c.request("GET", "/assets/css")
        #expect(dir.status == 301 && dir.header("Location") == "/assets/css/")
    }
}
