import ChopinTesting
import Testing

@testable import Chopin

private func router(_ patterns: [String]) -> Router {
    let r = Router()
    for p in patterns { r.get(p) { _ in .text(p) } }
    return r
}

@Suite struct RouterTests {
    @Test func staticBeatsParamBeatsWildcard() throws {
        let r = router(["/user/me", "/user/:id", "/user/*rest"])
        #expect(try r.decide("GET", "/user/me").pattern == "/user/me")
        #expect(try r.decide("GET", "/user/42").pattern == "/user/:id")
        #expect(try r.decide("GET", "/user/42").params == ["id": "42"])
        #expect(try r.decide("GET", "/user/42/posts").pattern == "/user/*rest")
        #expect(try r.decide("GET", "/user/42/posts").params == ["rest": "42/posts"])
    }

    /// Static routes are found by a hash of the whole path: many of them
    /// (so buckets collide and probe), long ones (compared 8 bytes at a time),
    /// near misses one byte apart, a prefix with no route of its own, and a
    /// parameter route beside them.
    @Test func staticPathsFoundWhole() throws {
        var patterns = (0..<200).map { "/static/route-number-\($0)" }
        patterns += ["/a/b", "/long/path/with/several/segments/abcdefgh", "/user/:id", "/users"]
        let r = router(patterns)
        for p in patterns where !p.contains(":") {
            #expect(try r.decide("GET", p).pattern == p)
        }
        #expect(try r.decide("GET", "/static/route-number-200").status == 404)
        #expect(try r.decide("GET", "/static/route-number-1x").status == 404)
        #expect(try r.decide("GET", "/long/path/with/several/segments/abcdefgi").status == 404)
        #expect(try r.decide("GET", "/long/path/with/several/segments/abcdefg").status == 404)
        #expect(try r.decide("GET", "/a").status == 404)
        #expect(try r.decide("GET", "/user").status == 404)
        #expect(try r.decide("GET", "/users").pattern == "/users")
        #expect(try r.decide("GET", "/user/users").pattern == "/user/:id")
        #expect(try r.decide("POST", "/a/b").status == 405)
    }

    @Test func backtracksWhenAStaticBranchDeadEnds() throws {
        let r = router(["/a/b/c", "/a/:x/d"])
        #expect(try r.decide("GET", "/a/b/d").pattern == "/a/:x/d")
        #expect(try r.decide("GET", "/a/b/d").params == ["x": "b"])
    }

    @Test func severalParameters() throws {
        let r = router(["/org/:org/repo/:repo"])
        let d = try r.decide("GET", "/org/apple/repo/swift")
        #expect(d.params == ["org": "apple", "repo": "swift"])
    }

    @Test func parametersArePercentDecoded() throws {
        let r = router(["/files/:name", "/static/*path"])
        #expect(try r.decide("GET", "/files/a%20b%2Fc").params == ["name": "a b/c"])
        #expect(try r.decide("GET", "/static/css/%C3%A9.css").params == ["path": "css/é.css"])
    }

    @Test func notFound() throws {
        let r = router(["/a", "/b/:id"])
        #expect(try r.decide("GET", "/c").status == 404)
        #expect(try r.decide("GET", "/b").status == 404)
        #expect(try r.decide("GET", "/b//").status == 404)  // an empty segment is no parameter
    }

    @Test func trailingSlashIsSignificant() throws {
        let r = router(["/a", "/b/"])
        #expect(try r.decide("GET", "/a").status == 200)
        #expect(try r.decide("GET", "/a/").status == 404)
        #expect(try r.decide("GET", "/b/").status == 200)
        #expect(try r.decide("GET", "/b").status == 404)
    }

    @Test func rootRoute() throws {
        let r = router(["/"])
        #expect(try r.decide("GET", "/").status == 200)
        #expect(try r.decide("GET", "/x").status == 404)
    }

    @Test func methodNotAllowedListsAllow() throws {
        let r = Router()
        r.get("/items") { _ in .text("") }
        r.post("/items") { _ in .text("") }
        let d = try r.decide("DELETE", "/items")
        #expect(d.status == 405)
        #expect(d.allow == "GET, HEAD, POST")
    }

    @Test func headIsServedByGet() throws {
        let r = router(["/page"])
        #expect(try r.decide("HEAD", "/page").pattern == "/page")
    }

    @Test func unknownMethodIs501UnlessRouted() throws {
        let r = router(["/cache"])
        #expect(try r.decide("PURGE", "/cache").status == 501)
        let routed = Router()
        routed.on(Method("PURGE"), "/cache") { _ in .text("purged") }
        #expect(try routed.decide("PURGE", "/cache").status == 200)
        // QUERY is a standard method: 405 with the path's Allow, not 501.
        #expect(try r.decide("QUERY", "/cache").status == 405)
        #expect(try r.decide("QUERY", "/elsewhere").status == 404)
    }

    @Test func conflictsAreErrorsNotOverrides() {
        let r = Router()
        r.get("/a/:id") { _ in .text("") }
        r.get("/a/:id") { _ in .text("") }
        r.get("/a/:name/b") { _ in .text("") }
        r.get("/x/*rest/y") { _ in .text("") }
        r.get("no-slash") { _ in .text("") }
        do {
            _ = try r.decide("GET", "/a/1")
            Issue.record("conflicting routes were accepted")
        } catch let e as RouterError {
            #expect(e.problems.count == 4)
            #expect(e.problems.contains { $0.contains("registered twice") })
            #expect(e.problems.contains { $0.contains(":name") && $0.contains(":id") })
            #expect(e.problems.contains { $0.contains("wildcard must be the last") })
            #expect(e.problems.contains { $0.contains("must start with '/'") })
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func groupsPrefixTheirRoutes() throws {
        let r = Router()
        r.group("/api") { api in
            api.get("/users/:id") { _ in .text("") }
            api.group("/v2") { v2 in v2.get("/health") { _ in .text("") } }
        }
        #expect(try r.decide("GET", "/api/users/3").params == ["id": "3"])
        #expect(try r.decide("GET", "/api/v2/health").status == 200)
        #expect(try r.decide("GET", "/users/3").status == 404)
    }
}

/// Static routes are found by a hash of the whole path and a comparison
/// that read words, not bytes (overlapping at the tail): every length from
/// 1 to 40 bytes, and a path that differs from a route in any one byte, or
/// by one byte of length, must not be taken for it.
@Suite struct StaticRouteHashTests {
    @Test func everyLengthAndEveryOneByteDifference() throws {
        let router = Router()
        var paths: [String] = []
        for n in 1...40 {
            let path = "/" + String((0..<n).map { Character(UnicodeScalar(UInt8(97 + ($0 * 7 + n) % 26))) })
            paths.append(path)
            router.get(path) { _ in .text("ok") }
        }
        for path in paths {
            #expect(try router.decide("GET", path).pattern == path, "\(path)")
            var bytes = Array(path.utf8)
            for i in 1..<bytes.count {
                let original = bytes[i]
                bytes[i] = original == UInt8(ascii: "z") ? UInt8(ascii: "y") : original + 1
                let near = String(decoding: bytes, as: UTF8.self)
                if !paths.contains(near) {
                    #expect(try router.decide("GET", near).status == 404, "\(near) is not \(path)")
                }
                bytes[i] = original
            }
            #expect(try router.decide("GET", path + "q").status == 404)
            #expect(try router.decide("GET", String(path.dropLast())).status == 404 || path.count == 2)
        }
    }
}

/// What the router answers, as a client reads it (ChopinTesting, in
/// process): matches and their parameters, 404, 405 with `Allow`, 501,
/// HEAD from GET, any method token.
@Suite struct RoutingAnswerTests {
    private static func app() throws -> TestApp {
        let router = Router()
        router.get("/user/me") { _ in .text("me") }
        router.get("/user/:id") { req in .text("user \(try req.param("id") ?? "")") }
        router.get("/user/:id/*rest") { req in .text("rest \(try req.param("rest") ?? "")") }
        router.post("/user/:id") { _ in .text("posted") }
        router.on(Method("M-SEARCH"), "/devices") { req in .text("searched with \(req.method)") }
        router.on(Method("PURGE"), "/cache/*key") { req in .text("purged \(try req.param("key") ?? "")") }
        return try TestApp(router)
    }

    @Test func matchesAndTheirParameters() throws {
        let app = try Self.app()
        defer { app.stop() }
        #expect(try app.get("/user/me").text == "me")  // static wins over a parameter
        #expect(try app.get("/user/42").text == "user 42")
        #expect(try app.get("/user/%34%32").text == "user 42")  // decoded once
        #expect(try app.get("/user/42/a/b%2Fc").text == "rest a/b/c")
        #expect(try app.request(Method("M-SEARCH"), "/devices").text == "searched with M-SEARCH")
        #expect(try app.request(Method("PURGE"), "/cache/k1").text == "purged k1")
    }

    /// One keep-alive connection, routes with two, one and no parameters in
    /// turn: each request's parameters are its own (the router keeps them in
    /// the connection's parsed request, which the next request reuses).
    @Test func eachRequestOnAConnectionHasItsOwnParameters() throws {
        let app = try Self.app()
        defer { app.stop() }
        let connection = try app.connect()
        defer { connection.close() }
        for (target, answer) in [
            ("/user/42/a/b", "rest a/b"), ("/user/7", "user 7"), ("/user/me", "me"), ("/user/9", "user 9"),
            ("/nowhere/3", #"{"error":"not found"}"#), ("/user/5/x", "rest x"),
        ] {
            #expect(try connection.request(.get, target).text == answer, "\(target)")
        }
    }

    @Test func whatNoRouteTakes() throws {
        let app = try Self.app()
        defer { app.stop() }
        var r = try app.get("/nowhere")
        #expect(r.status == .notFound && r.text == #"{"error":"not found"}"#)
        r = try app.request(.delete, "/user/42")
        #expect(r.status == .methodNotAllowed && r.header("Allow") == "GET, HEAD, POST")
        #expect(r.text == #"{"error":"method not allowed"}"#)
        r = try app.request(Method("BREW"), "/user/42")
        #expect(r.status == .notImplemented && r.text == #"{"error":"method not implemented"}"#)
        r = try app.request(.head, "/user/42")
        #expect(r.status == .ok && r.body.isEmpty && r.header("Content-Length") == "7")
        r = try app.get("/user/%ZZ")
        #expect(r.status == .badRequest && r.text.contains(#""field":"id""#))
    }
}

/// `Method.any`: one route for every method its path has no route of its own for.
@Suite struct AnyMethodTests {
    @Test func everyMethodReachesTheAnyRoute() throws {
        let router = Router()
        router.any("/dav/*path") { req in .text("\(req.method) \(try req.param("path") ?? "")") }
        router.get("/dav/special") { _ in .text("the GET route") }
        router.any("/async") { (req: Request) async in .text("async \(req.method)") }
        router.post("/async") { _ in .text("the POST route") }
        let app = try TestApp(router)
        defer { app.stop() }
        for method in ["PROPFIND", "MKCOL", "DELETE", "GET", "BREW", "M-SEARCH"] {
            #expect(try app.request(Method(method), "/dav/a/b").text == "\(method) a/b")
        }
        #expect(try app.get("/dav/special").text == "the GET route")  // a route of its own wins
        // The static path matched: its own methods answer (405), not the wildcard's any.
        #expect(try app.request(.delete, "/dav/special").header("Allow") == "GET, HEAD")
        #expect(try app.request(.put, "/async").text == "async PUT")
        #expect(try app.request(Method("LOCK"), "/async").text == "async LOCK")
        #expect(try app.request(.post, "/async").text == "the POST route")
        #expect(try app.get("/elsewhere").status == .notFound)
        let twice = Router()
        twice.any("/x") { _ in .text("") }
        twice.on(.any, "/x") { _ in .text("") }
        #expect(throws: RouterError.self) { try twice.freeze() }
    }
}
