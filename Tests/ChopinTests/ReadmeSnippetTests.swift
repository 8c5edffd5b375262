import ChopinExampleRoutes
import Testing

@testable import Chopin

/// The README's async snippets, verbatim, so that they keep compiling and
/// registering (their behaviour is tested in AsyncHandlerTests).
@Suite struct ReadmeSnippetTests {
    struct Nap: Decodable, Sendable { let ms: Int }

    @Test func asyncHandlersSnippet() throws {
        let router = Router()
        router.get("/sleep") { (req: Request, nap: Query<Nap>) async throws -> Response in
            try await Task.sleep(for: .milliseconds(nap.value.ms))  // or a database, another service...
            return .text("slept \(nap.value.ms) ms for \(req.header("User-Agent") ?? "someone")")
        }
        router.get("/user/:id") { (req: Request, id: Path<UInt64>) async in
            .json(User(id: id.value, username: "kowito"))
        }
        router.get("/events") { (_: Request) async in
            .stream(contentType: "text/event-stream") { out in
                for i in 1...3 {
                    try await out.write("data: tick \(i)\n\n")
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        let tree = try router.freeze()
        #expect(tree.nodes.count > 1)
    }
}
