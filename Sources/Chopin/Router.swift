
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

    /// Registers a handler that takes only the ``Request``, for GET and `path`.
    @inlinable
    public func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }

    /// Registers a handler that takes only the ``Request``, for POST and `path`.
    @inlinable
    public func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, handler) }

    /// Registers a handler that takes only the ``Request``, for PUT and `path`.
    @inlinable
    public func put(_ path: String, _ handler: @escaping Handler) { add(.put, path, handler) }

    /// Registers a handler that takes only the ``Request``, for DELETE and `path`.
    @inlinable
    public func delete(_ path: String, _ handler: @escaping Handler) { add(.delete, path, handler) }

    /// Registers a handler that takes only the ``Request``, for PATCH and `path`.
    @inlinable
    public func patch(_ path: String, _ handler: @escaping Handler) { add(.patch, path, handler) }

    /// Registers a handler for GET and `path`, with any extractors as parameters.
    @inlinable
    public func get<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.get, path, handler)
    }

    /// Registers a handler for POST and `path`, with any extractors as parameters.
    @inlinable
    public func post<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.post, path, handler)
    }

    /// Registers a handler for PUT and `path`, with any extractors as parameters.
    @inlinable
    public func put<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.put, path, handler)
    }

    /// Registers a handler for DELETE and `path`, with any extractors as parameters.
    @inlinable
    public func delete<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.delete, path, handler)
    }

    /// Registers a handler for PATCH and `path`, with any extractors as parameters.
    @inlinable
    public func patch<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) throws -> Response
    ) {
        on(.patch, path, handler)
    }
}

/// A registration mistake, reported when the router is frozen (at `serve` or
/// `start`): a route registered twice, conflicting parameter names, a
/// wildcard that is not last, a path without its leading `/`, or a method
/// whose name is not a token (``Method/isToken``).
public struct RouterError: Error, CustomStringConvertible, Sendable {
    /// One line per mistake.
    public let problems: [String]
    public var description: String { "invalid routes:\n  " + problems.joined(separator: "\n  ") }
}

/// The routes of a server: registered before serving, then frozen into a
/// read-only tree that every worker reads without locks.
///
/// ```swift
/// let router = Router()
/// router.get("/user/:id") { (ctx: Context, id: Path<UInt64>) in ctx.json(User(id: id.value)) }
/// router.group("/api") { api in api.get("/health") { _ in .text("ok") } }
/// ```
/// Static segments win over `:param`, which wins over `*wildcard`. HEAD is
/// answered by GET routes. A path that matches with the wrong method gets 405
/// with an `Allow` header; an unknown method with no route gets 501.
public final class Router: RouteRegistrar, @unchecked Sendable {
    // Mutated only while routes are registered, before freeze(); read-only after.
    struct Registration {
        let method: Method
        let pattern: String
        let endpoint: Endpoint
        let middleware: [any Middleware]
    }

    var registrations: [Registration] = []
    var middleware: [any Middleware] = []
    var errorRenderer: ErrorRenderer = ErrorReport.defaultAnswer
    private var frozenTree: RouteTree?

    /// An empty router: add routes, then serve it.
    public init() {}

    public func register(_ method: Method, _ path: String, _ endpoint: RouteEndpoint) {
        addFromGroup(method, path, endpoint.endpoint, [])
    }

    /// Adds middleware that runs around every request this router answers:
    /// its routes, and the requests that match none (404), match with
    /// another method (405, CORS preflights) or name an unknown method (501).
    public func use(_ m: any Middleware) {
        precondition(frozenTree == nil, "Router: middleware added after the server started")
        middleware.append(m)
    }

    /// Sets how every error is answered (see ``ErrorReport``): the router's
    /// 404, 405 and 501, extractors' 400, 415 and 422, thrown errors. The
    /// report's headers are added to what `render` returns.
    ///
    /// ```swift
    /// router.renderErrors { report, request in
    ///     var answer = Response.json(Problem(title: report.message, status: report.status.code), status: report.status)
    ///     answer.contentType = "application/problem+json"
    ///     return answer
    /// }
    /// ```
    public func renderErrors(_ render: @escaping ErrorRenderer) {
        precondition(frozenTree == nil, "Router: error renderer set after the server started")
        errorRenderer = render
    }

    /// Routes under a common prefix, with their own middleware.
    @discardableResult
    public func group(_ prefix: String, _ build: (RouteGroup) -> Void = { _ in }) -> RouteGroup {
        let g = RouteGroup(router: self, prefix: prefix, middleware: [])
        build(g)
        return g
    }

    func addFromGroup(_ method: Method, _ path: String, _ endpoint: Endpoint, _ mw: [any Middleware]) {
        precondition(frozenTree == nil, "Router: route \(method) \(path) registered after the server started")
        registrations.append(Registration(method: method, pattern: path, endpoint: endpoint, middleware: mw))
    }

    /// Builds the read-only tree; throws every registration mistake at once.
    func freeze() throws(RouterError) -> RouteTree {
        if let frozenTree { return frozenTree }
        let tree = try RouteTree(
            registrations: registrations, global: middleware, errors: ErrorAnswers(renderer: errorRenderer))
        frozenTree = tree
        return tree
    }
}

/// Routes under a prefix; see ``Router/group(_:_:)``.
public final class RouteGroup: RouteRegistrar, @unchecked Sendable {
    let router: Router
    let prefix: String
    var middleware: [any Middleware]

    init(router: Router, prefix: String, middleware: [any Middleware]) {
        self.router = router
        self.prefix = prefix
        self.middleware = middleware
    }

    public func register(_ method: Method, _ path: String, _ endpoint: RouteEndpoint) {
        router.addFromGroup(method, joined(path), endpoint.endpoint, middleware)
    }

    private func joined(_ path: String) -> String {
        prefix.hasSuffix("/") && path.hasPrefix("/") ? String(prefix.dropLast()) + path : prefix + path
    }

    /// Adds middleware for this group's routes (registered after this call).
    public func use(_ m: any Middleware) { middleware.append(m) }

    /// A nested group.
    @discardableResult
    public func group(_ prefix: String, _ build: (RouteGroup) -> Void = { _ in }) -> RouteGroup {
        let g = RouteGroup(router: router, prefix: self.prefix + prefix, middleware: middleware)
        build(g)
        return g
    }
}
