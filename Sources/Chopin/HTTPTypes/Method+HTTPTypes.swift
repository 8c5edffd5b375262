public import HTTPTypes

extension Method {
    /// The same method, from swift-http-types' type.
    ///
    /// ```swift
    /// let method = Method(HTTPRequest.Method.get)   // Method.get
    /// ```
    public init(_ method: HTTPRequest.Method) { self.init(method.rawValue) }
}

extension HTTPRequest.Method {
    /// Chopin's method as swift-http-types' type; nil when its name is not a
    /// token (see ``Chopin/Method/isToken``), which no request can carry.
    public init?(_ method: Chopin.Method) { self.init(method.name) }
}

// Registering routes with swift-http-types' method. `@_disfavoredOverload`
// keeps `router.on(.get, ...)` meaning Chopin's `Method.get`: both types
// have a `.get`, and without it the call would be ambiguous.
extension RouteRegistrar {
    /// Registers a synchronous handler for an `HTTPRequest.Method`, as
    /// `on(_:_:_:)` does for a ``Method``.
    @_disfavoredOverload
    public func on<each E: FromRequest>(
        _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
    ) {
        on(Method(method), path, handler)
    }

    /// Registers an async handler for an `HTTPRequest.Method`.
    @_disfavoredOverload
    public func on<each E: FromRequest & Sendable>(
        _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(Method(method), path, handler)
    }
}
