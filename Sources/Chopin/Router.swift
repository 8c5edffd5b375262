/// A handler after its extractors are bound: takes the context, returns a response.
public typealias Handler = @Sendable (Context) throws -> Response

/// A step around handlers: logging, CORS, authentication.
///
/// ```swift
/// struct Timing: Middleware {
///     func handle(_ ctx: Context, next: (Context) throws -> Response) throws -> Response {
///         let r = try next(ctx)
///         return r.header("X-Served-By", "chopin")
///     }
/// }
/// router.use(Timing())
/// ```
/// Routes registered where no middleware applies call their handler directly.
/// `next` returns what the client would get: a handler's thrown error comes
/// back as its error answer (a 404, a 500...), so a middleware's headers are
/// added to error responses too.
public protocol Middleware: Sendable {
    /// Whether this middleware takes part, read once when the server starts:
    /// one that does not is left out of every route's chain and costs
    /// nothing per request (``RequestLogger`` whose level is filtered out).
    /// True unless a middleware says otherwise.
    var isActive: Bool { get }

    /// Handles one request: call `next` with the context to run the rest of the chain (later
    /// middleware, then the handler) and return its response, changed or not, or return a response of your own.
    func handle(_ ctx: Context, next: (Context) throws -> Response) throws -> Response
}

extension Middleware {
    /// Middleware takes part unless it says otherwise.
    public var isActive: Bool { true }
}

/// Routes registration, shared by ``Router`` and ``RouteGroup``.
public protocol RouteRegistrar {
    /// Registers a handler for a method and a path pattern.
    func add(_ method: Method, _ path: String, _ handler: @escaping Handler)
    /// Registers a handler whose request body is read after it is called,
    /// as a ``RequestBodyStream`` (the async `RequestBodyStream` overloads use it).
    func addStreamingBody(_ method: Method, _ path: String, _ handler: @escaping Handler)
}

extension RouteRegistrar {
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
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
    ) {
        add(method, path) { ctx in
            try handler(ctx, repeat (each E).extract(from: ctx))
        }
    }

    /// Registers a handler that takes only the ``Context``, for `method` and `path`.
    // The overloads without extractors are registered as they are: through
    // the parameter-pack wrapper above, each request paid for copying the
    // Context through generic value witnesses (a retain and two releases),
    // even with no extractor to run.
    @inlinable
    public func on(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        add(method, path, handler)
    }

    /// Registers a handler that takes only the ``Context``, for GET and `path`.
    @inlinable
    public func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }

    /// Registers a handler that takes only the ``Context``, for POST and `path`.
    @inlinable
    public func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, handler) }

    /// Registers a handler that takes only the ``Context``, for PUT and `path`.
    @inlinable
    public func put(_ path: String, _ handler: @escaping Handler) { add(.put, path, handler) }

    /// Registers a handler that takes only the ``Context``, for DELETE and `path`.
    @inlinable
    public func delete(_ path: String, _ handler: @escaping Handler) { add(.delete, path, handler) }

    /// Registers a handler that takes only the ``Context``, for PATCH and `path`.
    @inlinable
    public func patch(_ path: String, _ handler: @escaping Handler) { add(.patch, path, handler) }

    /// Registers a handler for GET and `path`, with any extractors as parameters.
    @inlinable
    public func get<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
    ) {
        on(.get, path, handler)
    }

    /// Registers a handler for POST and `path`, with any extractors as parameters.
    @inlinable
    public func post<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
    ) {
        on(.post, path, handler)
    }

    /// Registers a handler for PUT and `path`, with any extractors as parameters.
    @inlinable
    public func put<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
    ) {
        on(.put, path, handler)
    }

    /// Registers a handler for DELETE and `path`, with any extractors as parameters.
    @inlinable
    public func delete<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
    ) {
        on(.delete, path, handler)
    }

    /// Registers a handler for PATCH and `path`, with any extractors as parameters.
    @inlinable
    public func patch<each E: FromRequest>(
        _ path: String,
        _ handler: @escaping @Sendable (Context, repeat each E) throws -> Response
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
        let handler: Handler
        let middleware: [any Middleware]
        var streamsBody = false
    }

    var registrations: [Registration] = []
    var middleware: [any Middleware] = []
    private var frozenTree: RouteTree?

    /// An empty router: add routes, then serve it.
    public init() {}

    public func add(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        addFromGroup(method, path, handler, [])
    }

    public func addStreamingBody(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        addFromGroup(method, path, handler, [], streamsBody: true)
    }

    /// Adds middleware that runs around every route of this router.
    public func use(_ m: any Middleware) {
        precondition(frozenTree == nil, "Router: middleware added after the server started")
        middleware.append(m)
    }

    /// Routes under a common prefix, with their own middleware.
    @discardableResult
    public func group(_ prefix: String, _ build: (RouteGroup) -> Void = { _ in }) -> RouteGroup {
        let g = RouteGroup(router: self, prefix: prefix, middleware: [])
        build(g)
        return g
    }

    func addFromGroup(
        _ method: Method, _ path: String, _ handler: @escaping Handler, _ mw: [any Middleware],
        streamsBody: Bool = false
    ) {
        precondition(frozenTree == nil, "Router: route \(method) \(path) registered after the server started")
        registrations.append(
            Registration(method: method, pattern: path, handler: handler, middleware: mw, streamsBody: streamsBody))
    }

    /// Builds the read-only tree; throws every registration mistake at once.
    func freeze() throws(RouterError) -> RouteTree {
        if let frozenTree { return frozenTree }
        let tree = try RouteTree(registrations: registrations, global: middleware)
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

    public func add(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        router.addFromGroup(method, joined(path), handler, middleware)
    }

    public func addStreamingBody(_ method: Method, _ path: String, _ handler: @escaping Handler) {
        router.addFromGroup(method, joined(path), handler, middleware, streamsBody: true)
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
