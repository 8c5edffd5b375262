import ChopinTesting
import Testing

@testable import Chopin

/// ChopinTesting's own behaviour: framing undone as a client would, both
/// modes, and a stopped app refusing connections.
@Suite struct ChopinTestingTests {
    private static func router() -> Router {
        let router = Router()
        router.get("/plain") { _ in .text("plain") }
        router.get("/stream") { (_: Request) async in
            Response.stream(contentType: "text/plain") { out in
                for piece in ["one ", "two ", "three"] { try await out.write(piece) }
            }
        }
        return router
    }

    @Test(arguments: [TestApp.Mode.inProcess, .live]) func framingPipeliningAndTheClose(mode: TestApp.Mode) throws {
        let app = try TestApp(Self.router(), mode: mode)
        defer { app.stop() }
        #expect((app.port != nil) == (mode == .live))
        let streamed = try app.get("/stream")
        #expect(streamed.header("Transfer-Encoding") == "chunked" && streamed.text == "one two three")
        let c = try app.connect()
        try c.send(.get, "/plain")
        try c.send(.head, "/plain")
        try c.send(.get, "/stream")
        #expect(try c.response().text == "plain")
        let head = try c.response(to: .head)
        #expect(head.body.isEmpty && head.header("Content-Length") == "5")
        #expect(try c.response().text == "one two three")
        let last = try c.request(.get, "/plain", headers: [("Connection", "close")])
        #expect(last.text == "plain" && last.header("Connection") == "close")
        #expect(try c.isClosedByServer())
    }

    @Test func aStoppedAppTakesNoConnection() throws {
        let app = try TestApp(Self.router())
        app.stop()
        #expect(throws: (any Error).self) { try app.connect() }
    }
}
