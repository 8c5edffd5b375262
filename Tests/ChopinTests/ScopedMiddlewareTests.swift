import ChopinTesting
import Testing

@testable import Chopin

// A ScopedMiddleware's scope holds the rest of the chain on every path: a
// chain that never awaits, the task of one that does (the scope entered
// again there), behind a middleware that awaits, and an answer given early
// by a middleware inside it.

private enum RequestID {
    @TaskLocal static var current: String?
}

/// Binds the request's X-Request-ID; its own `after` is outside its scope.
private struct BindRequestID: ScopedMiddleware {
    func withScope(_ request: Request, _ rest: () -> Response) -> Response {
        RequestID.$current.withValue(request.header("X-Request-ID")) { rest() }
    }

    func withScope(_ request: Request, _ rest: nonisolated(nonsending) () async -> Response) async -> Response {
        await RequestID.$current.withValue(request.header("X-Request-ID")) { await rest() }
    }

    func after(_ request: Request, response: inout Response) {
        response.headers.append(("X-Outside", RequestID.current ?? "none"))
    }
}

/// Answers 403 in the handler's place on X-Deny.
private struct Deny: SyncMiddleware {
    func before(_ request: inout Request) throws -> Response? {
        request.header("X-Deny") == nil ? nil : Response(status: .forbidden)
    }
}

/// Says, after the rest of the chain, what it found bound.
private struct Inner: SyncMiddleware {
    func after(_ request: Request, response: inout Response) {
        response.headers.append(("X-Seen", RequestID.current ?? "none"))
    }
}

private struct Awaits: Middleware {
    func handle(_ request: Request, next: Next) async throws -> Response {
        await Task.yield()
        return try await next(request)
    }
}

@Suite struct ScopedMiddlewareTests {
    private static func app(awaitingFirst: Bool) throws -> TestApp {
        let router = Router()
        if awaitingFirst { router.use(Awaits()) }
        router.use(BindRequestID())
        router.use(Inner())
        router.use(Deny())
        router.get("/sync") { _ in .text(RequestID.current ?? "none") }
        router.get("/async") { (_: Request) async -> Response in
            await Task.yield()
            return .text(RequestID.current ?? "none")
        }
        return try TestApp(router)
    }

    @Test(arguments: ["/sync", "/async"], [false, true])
    func theRestOfTheChainRunsInsideTheScope(path: String, awaitingFirst: Bool) throws {
        let app = try Self.app(awaitingFirst: awaitingFirst)
        defer { app.stop() }
        let response = try app.get(path, headers: [("X-Request-ID", "r-42")])
        #expect(response.text == "r-42")
        #expect(response.header("X-Seen") == "r-42")
        #expect(response.header("X-Outside") == "none")
    }

    @Test(arguments: ["/sync", "/async"], [false, true])
    func anEarlyAnswerInsideTheScopeIsStillInsideIt(path: String, awaitingFirst: Bool) throws {
        let app = try Self.app(awaitingFirst: awaitingFirst)
        defer { app.stop() }
        let response = try app.get(path, headers: [("X-Request-ID", "r-7"), ("X-Deny", "1")])
        #expect(response.status == .forbidden)
        // Deny answered in its `before`: Inner's `after` still runs in the scope.
        #expect(response.header("X-Seen") == "r-7")
        #expect(response.header("X-Outside") == "none")
    }
}
