// Every verb, for every kind of handler, in one place: each is `on` with
// its method (the kinds' own `on` live beside them: RouteRegistrar.swift,
// Async/AsyncHandlers.swift, Async/StreamingBodyHandlers.swift).
//
// The synchronous ones are inlinable: the registering module then
// specializes the wrapper closure for its own extractors (compiled
// generically here, every request paid for the parameter pack). Each kind
// has an overload for a handler that takes only the request: registered as
// it is, it costs no extraction step per request (through the
// parameter-pack overload, an async request paid about 2,200 instructions
// for its empty pack: a closure made to carry it, called generically).

extension RouteRegistrar {
    // MARK: get

    /// Registers a handler that takes only the ``Request``, for GET and `path`.
    @inlinable
    public func get(_ path: String, _ handler: @escaping Handler) { on(.get, path, handler) }

    /// Registers an async handler that takes only the ``Request``, for GET and `path`.
    public func get(_ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        on(.get, path, handler)
    }

    /// Registers a handler for GET and `path`, with any extractors as parameters.
    @inlinable
    public func get<each E: FromRequest>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.get, path, handler)
    }

    /// Registers an async handler for GET and `path`, with any extractors as parameters.
    @inlinable
    public func get<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.get, path, handler)
    }

    // MARK: post

    /// Registers a handler that takes only the ``Request``, for POST and `path`.
    @inlinable
    public func post(_ path: String, _ handler: @escaping Handler) { on(.post, path, handler) }

    /// Registers an async handler that takes only the ``Request``, for POST and `path`.
    public func post(_ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        on(.post, path, handler)
    }

    /// Registers an async handler that takes only the ``Request`` and its body as a
    /// ``RequestBodyStream``, for POST and `path`.
    public func post(_ path: String, _ handler: @escaping @Sendable (Request, RequestBodyStream) async throws -> Response) {
        on(.post, path, handler)
    }

    /// Registers a handler for POST and `path`, with any extractors as parameters.
    @inlinable
    public func post<each E: FromRequest>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.post, path, handler)
    }

    /// Registers an async handler for POST and `path`, with any extractors as parameters.
    @inlinable
    public func post<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.post, path, handler)
    }

    /// Registers an async handler for POST and `path` that reads its body as a
    /// ``RequestBodyStream``, with any extractors as the parameters after it.
    @inlinable
    public func post<each E: FromRequest & Sendable>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, RequestBodyStream, repeat each E) async throws -> Response
    ) {
        on(.post, path, handler)
    }

    // MARK: put

    /// Registers a handler that takes only the ``Request``, for PUT and `path`.
    @inlinable
    public func put(_ path: String, _ handler: @escaping Handler) { on(.put, path, handler) }

    /// Registers an async handler that takes only the ``Request``, for PUT and `path`.
    public func put(_ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        on(.put, path, handler)
    }

    /// Registers an async handler that takes only the ``Request`` and its body as a
    /// ``RequestBodyStream``, for PUT and `path`.
    public func put(_ path: String, _ handler: @escaping @Sendable (Request, RequestBodyStream) async throws -> Response) {
        on(.put, path, handler)
    }

    /// Registers a handler for PUT and `path`, with any extractors as parameters.
    @inlinable
    public func put<each E: FromRequest>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.put, path, handler)
    }

    /// Registers an async handler for PUT and `path`, with any extractors as parameters.
    @inlinable
    public func put<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.put, path, handler)
    }

    /// Registers an async handler for PUT and `path` that reads its body as a
    /// ``RequestBodyStream``, with any extractors as the parameters after it.
    @inlinable
    public func put<each E: FromRequest & Sendable>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, RequestBodyStream, repeat each E) async throws -> Response
    ) {
        on(.put, path, handler)
    }

    // MARK: delete

    /// Registers a handler that takes only the ``Request``, for DELETE and `path`.
    @inlinable
    public func delete(_ path: String, _ handler: @escaping Handler) { on(.delete, path, handler) }

    /// Registers an async handler that takes only the ``Request``, for DELETE and `path`.
    public func delete(_ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        on(.delete, path, handler)
    }

    /// Registers a handler for DELETE and `path`, with any extractors as parameters.
    @inlinable
    public func delete<each E: FromRequest>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.delete, path, handler)
    }

    /// Registers an async handler for DELETE and `path`, with any extractors as parameters.
    @inlinable
    public func delete<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.delete, path, handler)
    }

    // MARK: patch

    /// Registers a handler that takes only the ``Request``, for PATCH and `path`.
    @inlinable
    public func patch(_ path: String, _ handler: @escaping Handler) { on(.patch, path, handler) }

    /// Registers an async handler that takes only the ``Request``, for PATCH and `path`.
    public func patch(_ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        on(.patch, path, handler)
    }

    /// Registers an async handler that takes only the ``Request`` and its body as a
    /// ``RequestBodyStream``, for PATCH and `path`.
    public func patch(_ path: String, _ handler: @escaping @Sendable (Request, RequestBodyStream) async throws -> Response) {
        on(.patch, path, handler)
    }

    /// Registers a handler for PATCH and `path`, with any extractors as parameters.
    @inlinable
    public func patch<each E: FromRequest>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.patch, path, handler)
    }

    /// Registers an async handler for PATCH and `path`, with any extractors as parameters.
    @inlinable
    public func patch<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.patch, path, handler)
    }

    /// Registers an async handler for PATCH and `path` that reads its body as a
    /// ``RequestBodyStream``, with any extractors as the parameters after it.
    @inlinable
    public func patch<each E: FromRequest & Sendable>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, RequestBodyStream, repeat each E) async throws -> Response
    ) {
        on(.patch, path, handler)
    }

    // MARK: any

    /// Registers a handler that takes only the ``Request``, for any method its path has no route of its own for (``Method/any``) and `path`.
    @inlinable
    public func any(_ path: String, _ handler: @escaping Handler) { on(.any, path, handler) }

    /// Registers an async handler that takes only the ``Request``, for any method its path has no route of its own for (``Method/any``) and `path`.
    public func any(_ path: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        on(.any, path, handler)
    }

    /// Registers an async handler that takes only the ``Request`` and its body as a
    /// ``RequestBodyStream``, for any method its path has no route of its own for (``Method/any``) and `path`.
    public func any(_ path: String, _ handler: @escaping @Sendable (Request, RequestBodyStream) async throws -> Response) {
        on(.any, path, handler)
    }

    /// Registers a handler for any method its path has no route of its own for (``Method/any``) and `path`, with any extractors as parameters.
    @inlinable
    public func any<each E: FromRequest>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.any, path, handler)
    }

    /// Registers an async handler for any method its path has no route of its own for (``Method/any``) and `path`, with any extractors as parameters.
    @inlinable
    public func any<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.any, path, handler)
    }

    /// Registers an async handler for any method its path has no route of its own for (``Method/any``) and `path` that reads its body as a
    /// ``RequestBodyStream``, with any extractors as the parameters after it.
    @inlinable
    public func any<each E: FromRequest & Sendable>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, RequestBodyStream, repeat each E) async throws -> Response
    ) {
        on(.any, path, handler)
    }
}
