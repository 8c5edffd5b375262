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
