/// A step around handlers: authentication, sessions, CORS, access logs.
///
/// Every route runs the same way, whatever its handler is (synchronous,
/// async, reading its body as a stream, a WebSocket): through the router's
/// middleware, then its groups', then the handler. A middleware sees the
/// real answer: what `next` returns is what the client will get (the
/// status, headers and body an async handler answered with; a thrown
/// error already turned into its error answer), and what the middleware
/// returns is the answer, exactly once.
///
/// ```swift
/// struct BearerAuth: Middleware {
///     let users: UserStore
///     func handle(_ request: Request, next: Next) async throws -> Response {
///         guard let token = request.header("Authorization")?.bearerToken,
///               let user = await users.user(forToken: token)
///         else { throw HTTPError(.unauthorized, headers: [("WWW-Authenticate", "Bearer")]) }
///         var request = request
///         request.storage[User.self] = user
///         return try await next(request)
///     }
/// }
/// router.group("/api") { api in api.use(BearerAuth(users: store)) }
/// ```
///
/// A middleware that never awaits is better written as a
/// ``SyncMiddleware``: around a synchronous handler it then runs on the
/// synchronous path (no task, no copy of the request, no allocation).
/// A route goes async once, at the first middleware or handler that awaits.
public protocol Middleware: Sendable {
    /// Whether this middleware takes part, read once when the server starts:
    /// one that does not is left out of every route's chain and costs
    /// nothing per request (``RequestLogger`` whose level is filtered out).
    /// True unless a middleware says otherwise.
    var isActive: Bool { get }

    /// Handles one request: call `next` to run the rest of the chain (later
    /// middleware, then the handler) and return its answer, changed or not,
    /// or return (or throw) an answer of your own without calling it.
    func handle(_ request: Request, next: Next) async throws -> Response
}

extension Middleware {
    /// Middleware takes part unless it says otherwise.
    public var isActive: Bool { true }
}

/// The rest of a route's chain, as a middleware calls it.
public struct Next: Sendable {
    let run: @Sendable (Request) async -> Response

    /// Runs the later middleware and the handler with `request`, and
    /// returns their answer. An error they throw comes back as its error
    /// answer (``ErrorReport``), so that the caller may still decorate it.
    public func callAsFunction(_ request: Request) async throws -> Response {
        await run(request)
    }
}

/// A middleware that never awaits, written as two synchronous steps, so
/// that it runs on the synchronous path around a synchronous handler and
/// inside the task of a route that awaits, with the same meaning.
///
/// ```swift
/// struct ServedBy: SyncMiddleware {
///     func after(_ request: Request, response: inout Response) {
///         response.headers.append(("X-Served-By", "chopin"))
///     }
/// }
/// ```
/// ``before(_:)`` runs before the rest of the chain (and before the
/// handler's extractors): it may change the request (its ``Request/storage``)
/// or answer in the handler's place. ``after(_:response:)`` sees the answer
/// the rest of the chain gave, the error answers included, and may change
/// or replace it. A middleware that answers in `before` gets no `after`.
public protocol SyncMiddleware: Middleware {
    /// Before the rest of the chain: nil to go on, or the answer to give
    /// instead (a thrown error is answered as its error answer).
    func before(_ request: inout Request) throws -> Response?

    /// After the rest of the chain: `response` is what the client will get
    /// unless this changes it.
    func after(_ request: Request, response: inout Response) throws
}

extension SyncMiddleware {
    /// Goes on.
    public func before(_ request: inout Request) throws -> Response? { nil }

    /// Changes nothing.
    public func after(_ request: Request, response: inout Response) throws {}

    /// The two steps around `next`, for a chain that awaits.
    public func handle(_ request: Request, next: Next) async throws -> Response {
        var request = request
        if let early = try before(&request) { return early }
        var response = try await next(request)
        try after(request, response: &response)
        return response
    }
}
