import Testing

@testable import Chopin

/// Any method token (RFC 9110 section 9.1) can be routed, not only the
/// seven Chopin names; a name that is no token is a registration mistake.
@Suite(.serialized) struct MethodTokenTests {
    static func router() -> Router {
        let router = Router()
        router.on(Method("M-SEARCH"), "/x") { _ in .text("searched") }
        router.get("/y") { _ in .text("y") }
        return router
    }

    @Test(arguments: [Backend.epoll, .uring]) func aRegisteredTokenMethodIsServed(backend: Backend) throws {
        let server = try startServer(Self.router(), backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let r = try c.request("M-SEARCH", "/x")
        #expect(r.status == 200 && r.text == "searched")
        let get = try c.request("GET", "/x")
        #expect(get.status == 405 && get.header("Allow") == "M-SEARCH")
    }

    @Test(arguments: [Backend.epoll, .uring]) func anUnroutedTokenMethodIs501(backend: Backend) throws {
        let server = try startServer(Self.router(), backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        #expect(try c.request("BREW", "/x").status == 501)
        #expect(try c.request("M-SEARCH", "/y").status == 501)
        #expect(try c.request("m-search", "/x").status == 501)  // methods are case-sensitive
        #expect(try c.request("GET", "/y").text == "y")  // and the connection goes on
    }

    @Test func aMethodThatIsNotATokenIsARouterErrorAtStart() throws {
        let router = Router()
        for name in ["", "BAD METHOD", "GET(", "SE\"ARCH", "PÜT", "A/B", "X\r\n"] {
            router.on(Method(name), "/z") { _ in .text("") }
        }
        router.on(Method("M-SEARCH"), "/z") { _ in .text("") }
        do {
            let server = try startServer(router)
            server.stop()
            Issue.record("methods that are not tokens were accepted")
        } catch let e as RouterError {
            #expect(e.problems.count == 7, "\(e.problems)")
            #expect(e.problems.allSatisfy { $0.contains("not a method token") })
        }
    }
}
