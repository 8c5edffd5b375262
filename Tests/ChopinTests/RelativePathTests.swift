import Testing

@testable import Chopin

/// `RelativePath` turns a `*wildcard` into segments a handler can join to
/// a directory: decoded once, dot segments resolved, never above the
/// route's root, no NUL and no separator hidden in a segment.
@Suite(.serialized) struct RelativePathTests {
    struct Case: Sendable, CustomStringConvertible {
        let wildcard: String
        /// The resolved path, or nil when the request is refused (400).
        let resolved: String?
        var description: String {
            wildcard.count > 60 ? "\(wildcard.prefix(60))... (\(wildcard.count) bytes)" : wildcard
        }
    }

    static let longPath = String(repeating: "a/", count: 3000) + "x"
    static let cases: [Case] = [
        Case(wildcard: "css/site.css", resolved: "css/site.css"),
        Case(wildcard: "../../etc/passwd", resolved: nil),
        Case(wildcard: "a/../../b", resolved: nil),
        Case(wildcard: "%2e%2e/x", resolved: nil),  // an encoded dot segment is still a dot segment
        Case(wildcard: "%2E%2E%2Fetc", resolved: nil),  // an encoded slash is no separator: refused
        Case(wildcard: "a/%2F/b", resolved: nil),
        Case(wildcard: "a%5Cb", resolved: nil),  // nor is an encoded backslash
        Case(wildcard: "a%00b", resolved: nil),
        Case(wildcard: "a%2/b", resolved: nil),  // malformed escape
        Case(wildcard: "a/%FF", resolved: nil),  // not UTF-8 once decoded
        Case(wildcard: "./a//b/", resolved: "a/b"),
        Case(wildcard: "a/./b/../c", resolved: "a/c"),
        Case(wildcard: "a/..", resolved: ""),  // the root itself
        Case(wildcard: "%252e%252e/x", resolved: "%2e%2e/x"),  // decoded once, so no dot segment
        Case(wildcard: "caf%C3%A9/men%C3%BC.txt", resolved: "café/menü.txt"),
        Case(wildcard: longPath, resolved: longPath),
        Case(
            wildcard: String(repeating: "a/", count: 1500) + String(repeating: "../", count: 1500) + "x", resolved: "x"),
        Case(wildcard: String(repeating: "../", count: 2500) + "etc/passwd", resolved: nil),
    ]

    static func router() -> Router {
        let router = Router()
        router.get("/files/*path") { (_: Context, path: RelativePath) in .text(path.path) }
        router.get("/raw/*path") { ctx throws in .text(try ctx.param("path") ?? "") }
        router.get("/nowild/:id") { (_: Context, path: RelativePath) in .text(path.path) }
        return router
    }

    @Test(arguments: [Backend.epoll, .uring]) func overRealSockets(backend: Backend) throws {
        let server = try startServer(Self.router(), backend)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        for k in Self.cases {
            let r = try c.request("GET", "/files/" + k.wildcard)
            if let resolved = k.resolved {
                #expect(r.status == 200 && r.text == resolved, "\(k): \(r.status) \(r.text.prefix(200))")
            } else {
                #expect(r.status == 400 && r.text.contains(#""field":"path""#), "\(k): \(r.status) \(r.text)")
            }
        }
        #expect(try c.request("GET", "/files/css/site.css").text == "css/site.css")  // the connection goes on
    }

    /// ctx.param is the wildcard decoded once and nothing more: not a file path.
    @Test func paramIsDecodedOnceButNotResolved() throws {
        let server = try startServer(Self.router())
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        #expect(try c.request("GET", "/raw/../../etc/passwd").text == "../../etc/passwd")
        #expect(try c.request("GET", "/raw/a%2Fb").text == "a/b")
    }

    @Test func aRouteWithoutWildcardIsAServerError() throws {
        let server = try startServer(Self.router())
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        #expect(try c.request("GET", "/nowild/1").status == 500)
    }

    /// The same resolution without a server, for the parts a socket cannot
    /// carry as is.
    @Test func resolvesSegmentsWithoutAServer() throws {
        #expect(try RelativePath(resolving: "a/b/../c").segments == ["a", "c"])
        #expect(try RelativePath(resolving: "").segments == [])
        #expect(try RelativePath(resolving: "/").path == "")
        #expect(throws: ExtractionError.self) { try RelativePath(resolving: "..") }
    }
}

extension RelativePath {
    init(resolving text: String) throws {
        self = try Array(text.utf8).withUnsafeBytes { try RelativePath(resolving: $0, field: "path") }
    }
}
