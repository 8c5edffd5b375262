internal import CChopinCore
import Synchronization

/// Async handlers: registered like synchronous ones, with `async` on the
/// closure.
///
/// ```swift
/// router.get("/sleep") { (req: Request, q: Query<Nap>) async throws -> Response in
///     try await Task.sleep(for: .milliseconds(q.value.ms))
///     return .text("slept \(q.value.ms)")
/// }
/// ```
///
/// Extractors run first, after the route's middleware; where nothing
/// before them awaited, on the worker over the request in place. The
/// handler then runs as a task on the worker's own executor (the thread
/// that owns the connection), with the request copied once, and its answer
/// goes back out through the route's middleware, in order with any
/// pipelined requests. A client that disconnects cancels the task
/// (`Task.isCancelled`); so do the handler deadline
/// (``Configuration/handlerTimeoutMilliseconds``, answered 503) and the
/// shutdown deadline. Work that blocks a thread (heavy computation,
/// blocking file I/O) must leave the worker:
/// `await withTaskExecutorPreference(globalConcurrentExecutor) { ... }`.
extension RouteRegistrar {
    /// Registers an async handler that takes only the ``Request``, for `method` and `path`.
    // Registered as it is: through the parameter-pack overload, each request
    // made a closure to carry the (empty) extracted values to the handler.
    public func on(_ method: Method, _ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        addAsync(method, path) { _ in handler }
    }

    /// Registers an async handler for `method` and `path`, with any extractors as parameters.
    // Inlinable, as the synchronous one is: the registering module
    // specializes the extraction for its own extractors.
    @inlinable
    public func on<each E: FromRequest & Sendable>(
        _ method: Method, _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        addAsync(method, path) { request in
            let values = (repeat try (each E).extract(from: request))
            return { request in try await handler(request, repeat each values) }
        }
    }

    /// An async handler as its extraction step, which gives the body to run.
    @usableFromInline
    func addAsync(
        _ method: Method, _ path: String,
        _ extract: @escaping @Sendable (Request) throws -> @Sendable (Request) async throws -> Response
    ) {
        register(method, path, RouteEndpoint(endpoint: .async(extract)))
    }
}

// The shipped extractors own their values (no view into the connection's
// buffer), so they may move into a handler's task. Declared here, next to the
// API that needs it; `@unchecked` only because Swift accepts a checked
// Sendable conformance solely in the type's own file.
extension Json: @unchecked Sendable where T: Sendable {}
extension Query: @unchecked Sendable where T: Sendable {}
extension Path: @unchecked Sendable where T: Sendable {}
extension Header: @unchecked Sendable {}
extension RawBody: @unchecked Sendable {}
