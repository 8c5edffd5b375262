import ChopinTesting
import Testing

@testable import Chopin

/// Adds a header to whatever the route answers.
private struct ServedBy: SyncMiddleware {
    func after(_ request: Request, response: inout Response) {
        response.headers.append(("X-Served-By", "chopin"))
    }
}

private struct Boom: Error {}

/// Would add a header, but says it takes no part.
private struct Dormant: Middleware {
    var isActive: Bool { false }
    func handle(_ request: Request, next: Next) async throws -> Response {
        try await next(request).header("X-Dormant", "ran")
    }
}

private func errorRouter() -> Router {
    let router = Router()
    router.get("/bare-404") { _ throws -> Response in throw HTTPError(.notFound) }
    router.group("/mw") { g in
        g.use(ServedBy())
        g.use(Dormant())
        g.get("/missing") { _ throws -> Response in throw HTTPError(.notFound, "no such thing") }
        g.get("/boom") { _ throws -> Response in throw Boom() }
        g.get("/n/:n") { (ctx: Context, n: Path<Int>) in .text("\(n.value)") }
    }
    return router
}

extension EndToEndTests {
    /// One error format everywhere, and middleware that sees error answers.
    @Suite struct ErrorAnswers {
        @Test(arguments: backends) func anErrorWithoutAMessageSaysItsReason(backend: Backend) throws {
            let app = try TestApp(errorRouter()) { $0.backend = backend }
            defer { app.stop() }
            let thrown = try app.get("/bare-404")
            let routers = try app.get("/nowhere")
            #expect(thrown.status.code == 404 && routers.status.code == 404)
            #expect(thrown.text == #"{"error":"not found"}"#)
            #expect(thrown.text == routers.text)
            #expect(thrown.header("Content-Type") == "application/json")
        }

        @Test(arguments: backends) func middlewareHeadersReachErrorAnswers(backend: Backend) throws {
            let app = try TestApp(errorRouter()) { $0.backend = backend }
            defer { app.stop() }
            let missing = try app.get("/mw/missing")
            #expect(missing.status.code == 404)
            #expect(missing.text == #"{"error":"no such thing"}"#)
            #expect(missing.header("X-Served-By") == "chopin")
            let boom = try app.get("/mw/boom")
            #expect(boom.status.code == 500)
            #expect(boom.text == #"{"error":"internal server error"}"#)
            #expect(boom.header("X-Served-By") == "chopin")
            let bad = try app.get("/mw/n/abc")  // the extractor refuses it
            #expect(bad.status.code == 400)
            #expect(bad.text.contains(#""field":"n""#))
            #expect(bad.header("X-Served-By") == "chopin")
            let ok = try app.get("/mw/n/7")
            #expect(ok.text == "7" && ok.header("X-Served-By") == "chopin")
            #expect(ok.header("X-Dormant") == nil, "an inactive middleware is not in the chain")
        }
    }
}
