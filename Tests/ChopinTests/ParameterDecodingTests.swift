import ChopinExampleRoutes
import Testing

@testable import Chopin

/// One rule for every route parameter, whichever way a handler reads it:
/// percent-decoded exactly once, then parsed; a malformed escape or bytes
/// that are not UTF-8 once decoded are a 400 naming the parameter.
@Suite(.serialized) struct ParameterDecodingTests {
    struct Repo: Decodable {
        let org: String
        let repo: String
    }

    static func router() -> Router {
        let router = Router()
        router.get("/id/:id") { (_: Context, id: Path<Int>) in .text(String(id.value)) }
        router.get("/name/:name") { (_: Context, name: Path<String>) in .text(name.value) }
        router.get("/param/:name") { ctx throws in .text(try ctx.param("name") ?? "absent") }
        router.get("/org/:org/repo/:repo") { (_: Context, r: Path<Repo>) in .text("\(r.value.org)|\(r.value.repo)") }
        router.get("/query") { (_: Context, q: Query<Search>) in .text(q.value.q) }
        return router
    }

    @Test func everyReaderDecodesOnceThenParses() throws {
        let server = try startServer(Self.router())
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let cases: [(target: String, text: String)] = [
            ("/id/%31", "1"),
            ("/id/-%34%32", "-42"),
            ("/name/a%20b", "a b"),
            ("/name/%2541", "%41"),  // once: %25 is '%', and "%41" stays as it is
            ("/param/caf%C3%A9", "café"),
            ("/param/%2541", "%41"),
            ("/org/%61pple/repo/sw%69ft", "apple|swift"),
            ("/query?q=%2541+b", "%41 b"),
        ]
        for k in cases {
            let r = try c.request("GET", k.target)
            #expect(r.status == 200 && r.text == k.text, "\(k.target): \(r.status) \(r.text)")
        }
    }

    @Test func malformedOrNotUTF8Is400NamingTheParameter() throws {
        let server = try startServer(Self.router())
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let cases: [(target: String, field: String)] = [
            ("/id/%3", "id"),
            ("/id/%3G", "id"),
            ("/id/%FF", "id"),
            ("/name/%ZZ", "name"),
            ("/name/%C3", "name"),  // a lone lead byte
            ("/param/a%", "name"),
            ("/param/%C0%AF", "name"),  // an overlong '/'
            ("/org/apple/repo/%E2%82", "repo"),
            ("/query?q=100%", "q"),
        ]
        for k in cases {
            let r = try c.request("GET", k.target)
            #expect(r.status == 400, "\(k.target): \(r.status) \(r.text)")
            #expect(r.text.contains(#""field":"\#(k.field)""#), "\(k.target): \(r.text)")
            #expect(r.header("Content-Type") == "application/json")
        }
        #expect(try c.request("GET", "/id/7").text == "7")  // and the connection goes on
    }
}
