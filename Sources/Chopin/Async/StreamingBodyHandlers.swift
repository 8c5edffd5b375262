/// Async handlers that take their request body as a ``RequestBodyStream``
/// (uploads past ``Configuration/maxBody``, read as they arrive).
///
/// ```swift
/// router.post("/upload") { (req: Request, body: RequestBodyStream) async throws -> Response in
///     var bytes = 0
///     for try await chunk in body { bytes += chunk.count }
///     return .text("\(bytes) bytes")
/// }
/// ```
/// Extractors that read the body (`Json`, `RawBody`) see it empty here.
extension RouteRegistrar {
    /// Registers an async handler that takes only the ``Request`` and its body
    /// as a stream, for `method` and `path`.
    public func on(
        _ method: Method, _ path: String, _ handler: @escaping @Sendable (Request, RequestBodyStream) async throws -> Response
    ) {
        addStreamingBody(method, path) { _ in handler }
    }

    /// Registers an async handler for `method` and `path` that reads its body as a stream.
    // Inlinable: the registering module specializes the extraction.
    @inlinable
    public func on<each E: FromRequest & Sendable>(
        _ method: Method, _ path: String,
        _ handler: @escaping @Sendable (Request, RequestBodyStream, repeat each E) async throws -> Response
    ) {
        addStreamingBody(method, path) { request in
            let values = (repeat try (each E).extract(from: request))
            return { request, body in try await handler(request, body, repeat each values) }
        }
    }

    /// A streamed-body handler as its extraction step, which gives the body to run.
    @usableFromInline
    func addStreamingBody(
        _ method: Method, _ path: String,
        _ extract: @escaping @Sendable (Request) throws -> @Sendable (Request, RequestBodyStream) async throws -> Response
    ) {
        register(method, path, RouteEndpoint(endpoint: .streamingBody(extract)))
    }
}
