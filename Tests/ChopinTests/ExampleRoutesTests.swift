import ChopinExampleRoutes
import Testing

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
                "POST /upload", "GET /crash", "GET /crash/async", "GET /crash/ws", "GET /assets", "GET /assets/*path",
                "GET /large.json", "POST /inflate", "GET /ws",
            ])
    }
}
