/// A handler after its extractors are bound: takes the request, returns a response.
public typealias Handler = @Sendable (Request) throws -> Response

/// What a route ends in (a synchronous or async handler, a streamed body's,
/// a WebSocket's), as the registration methods make it.
public struct RouteEndpoint: Sendable {
    let endpoint: Endpoint
}

/// Routes registration, shared by ``Router`` and ``RouteGroup``.
public protocol RouteRegistrar {
    /// Registers an endpoint for a method and a path pattern (the `get`,
    /// `post`... and `webSocket` methods make the endpoint).
    func register(_ method: Method, _ path: String, _ endpoint: RouteEndpoint)
}

extension RouteRegistrar {
    /// Registers a synchronous handler for a method and a path pattern.
    public func add(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        register(method, path, RouteEndpoint(endpoint: .sync(handler)))
    }

    /// Registers a handler for `method` and `path`, with any extractors as parameters.
    ///
    /// A path pattern has static segments, `:name` parameters and a final
    /// `*name` wildcard: `/user/:id`, `/static/*path`. A trailing slash is
    /// significant: `/a/` and `/a` are different routes.
    // Inlinable, as are get/post/put/delete/patch: the registering module
    // then specializes the wrapper closure for its own extractors; compiled
    // generically here, every request paid for the parameter pack, even an
    // empty one.
    @inlinable
    public func on<each E: FromRequest>(
        _ method: Method, _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        add(method, path) { ctx in
            try handler(ctx, repeat (each E).extract(from: ctx))
        }
    }

    /// Registers a handler that takes only the ``Request``, for `method` and `path`.
    // The overloads without extractors are registered as they are: through
    // the parameter-pack wrapper above, each request paid for copying the
    // Context through generic value witnesses (a retain and two releases),
    // even with no extractor to run.
    @inlinable
    public func on(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        add(method, path, handler)
    }
}
