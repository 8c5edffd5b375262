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
            let server = try startServer(errorRouter(), backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let thrown = try c.request("GET", "/bare-404")
            let routers = try c.request("GET", "/nowhere")
            #expect(thrown.status == 404 && routers.status == 404)
            #expect(thrown.text == #"{"error":"not found"}"#)
            #expect(thrown.text == routers.text)
            #expect(thrown.header("Content-Type") == "application/json")
        }

        @Test(arguments: backends) func middlewareHeadersReachErrorAnswers(backend: Backend) throws {
            let server = try startServer(errorRouter(), backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let missing = try c.request("GET", "/mw/missing")
            #expect(missing.status == 404)
            #expect(missing.text == #"{"error":"no such thing"}"#)
            #expect(missing.header("X-Served-By") == "chopin")
            let boom = try c.request("GET", "/mw/boom")
            #expect(boom.status == 500)
            #expect(boom.text == #"{"error":"internal server error"}"#)
            #expect(boom.header("X-Served-By") == "chopin")
            let bad = try c.request("GET", "/mw/n/abc")  // the extractor refuses it
            #expect(bad.status == 400)
            #expect(bad.text.contains(#""field":"n""#))
            #expect(bad.header("X-Served-By") == "chopin")
            let ok = try c.request("GET", "/mw/n/7")
            #expect(ok.text == "7" && ok.header("X-Served-By") == "chopin")
            #expect(ok.header("X-Dormant") == nil, "an inactive middleware is not in the chain")
        }
    }
}
