/// A ``SyncMiddleware`` that runs the rest of the chain (the later
/// middleware and the handler) inside a scope of its own: a task-local
/// value bound, so that code deep in a handler finds it without being
/// handed it. ``TracingMiddleware`` binds the request's span this way, so
/// that an HTTP client called from a handler sends the trace on.
///
/// ```swift
/// enum RequestID { @TaskLocal static var current: String? }
///
/// struct BindRequestID: ScopedMiddleware {
///     func withScope(_ request: Request, _ rest: () -> Response) -> Response {
///         RequestID.$current.withValue(request.header("X-Request-ID")) { rest() }
///     }
///     func withScope(
///         _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
///     ) async -> Response {
///         await RequestID.$current.withValue(request.header("X-Request-ID")) { await rest() }
///     }
/// }
/// ```
/// Both forms are needed and must bind the same thing: the first runs
/// around a chain that never awaits (on the synchronous path, where it
/// stays), the second inside the task of a chain that awaits. `rest`
/// never throws: what it returns is already the answer, error answers
/// included. The middleware's ``SyncMiddleware/before(_:)`` runs before
/// its scope is entered, and its ``SyncMiddleware/after(_:response:)``
/// once it is left.
///
/// A chain with no scoped middleware pays nothing for this: the scopes are
/// looked for once, when the router freezes.
public protocol ScopedMiddleware: SyncMiddleware {
    /// Runs `rest`, the rest of a chain that never awaits, inside this
    /// middleware's scope, and returns its answer (or another).
    func withScope(_ request: Request, _ rest: () -> Response) -> Response

    /// Runs `rest`, the rest of a chain that awaits, inside this
    /// middleware's scope, and returns its answer (or another).
    nonisolated(nonsending) func withScope(
        _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
    ) async -> Response
}

extension ScopedMiddleware {
    /// The two steps around `next`, with `next` inside the scope.
    public func handle(_ request: Request, next: Next) async throws -> Response {
        var request = request
        if let early = try before(&request) { return early }
        var response = await withScope(request) { await next.run(request) }
        try after(request, response: &response)
        return response
    }
}
