internal import CChopinCore

/// One registered route, ready to run. A class, so that handing the matched
/// route to the handler is one reference count, not one per field.
final class Route: Sendable {
    let pattern: String
    /// The pattern's bytes, copied once, at a place that never moves: the
    /// worker's request record names the route from here and skips the copy
    /// when the same route runs again (see ResponseWriter.recordHandling).
    nonisolated(unsafe) let patternBytes: UnsafeMutableBufferPointer<CChar>
    let paramNames: [String]
    /// Whether the last of paramNames is a `*wildcard` (for ``RelativePath``).
    let endsInWildcard: Bool
    /// Its middleware and endpoint.
    let chain: Chain
    /// Takes its body as a ``RequestBodyStream``.
    let streamsBody: Bool
    /// Its middleware, for the answers given at its path to other methods (405).
    let middleware: [any Middleware]
    /// Its number in the per-route metrics (``RouteMetrics``); 0 is no route's.
    let metricsIndex: UInt32

    init(
        pattern: String, paramNames: [String], endsInWildcard: Bool, chain: Chain, middleware: [any Middleware],
        metricsIndex: UInt32
    ) {
        self.pattern = pattern
        self.metricsIndex = metricsIndex
        let utf8 = Array(pattern.utf8)
        patternBytes = .allocate(capacity: max(utf8.count, 1))
        for (i, byte) in utf8.enumerated() { patternBytes[i] = CChar(bitPattern: byte) }
        self.paramNames = paramNames
        self.endsInWildcard = endsInWildcard
        self.chain = chain
        self.streamsBody = chain.endpoint.streamsBody
        self.middleware = middleware
    }

    deinit { patternBytes.deallocate() }
}

/// The frozen router: a tree of path segments in flat arrays, matched
/// without allocating (parameters go into an inline array of spans).
struct RouteTree: Sendable {
    struct Node: Sendable {
        var statics: [(segment: [UInt8], child: Int)] = []
        var param: Int = -1
        var paramName = ""
        var wildcard: Int = -1
        var wildcardName = ""
        /// One slot per common method (Method.tableOrder), then any other methods.
        var handlers: [Route?] = Array(repeating: nil, count: Method.tableOrder.count)
        var otherMethods: [(method: String, route: Route)] = []
        /// The route for every method without one of its own (``Method/any``).
        var anyRoute: Route?
        /// The Allow header for 405, computed once.
        var allow = ""
        /// The 405 at this node, through its routes' middleware.
        var methodNotAllowed: Chain?
        /// Whether any method is routed here, computed once (read on every match).
        var hasRoutes = false
    }

    /// What a request matched. Trivial (no reference counted payload), so
    /// that making, switching over and dropping one costs no retain or
    /// release per request: the routes live in the frozen tree, which
    /// outlives every request it answers.
    enum Lookup {
        case found(Unmanaged<Route>)
        case notFound
        /// The path matched node's routes, none for this method (its `allow`).
        case methodNotAllowed(node: Int)
        case notImplemented

        /// The route found, if one was.
        var unmanaged: Unmanaged<Route>? {
            if case .found(let u) = self { return u }
            return nil
        }
    }

    /// The Allow header's value for a node (GET also allows HEAD).
    func allow(_ node: Int) -> String { nodes[node].allow }

    private(set) var nodes: [Node] = [Node()]
    /// The same tree, flattened for matching.
    private var table = RouteTable([Node()])
    /// The routes by their metrics number (``Route/metricsIndex``): method
    /// and pattern; the first, for the requests no route takes, is empty.
    private(set) var metricsLabels: [(method: String, pattern: String)] = [("", "")]
    /// Whether a ``RouteMetrics`` is in some route's chain: the server then
    /// keeps a cell per route and status class for each worker.
    private(set) var countsRoutes = false

    /// The answers to requests no route takes, through the router's middleware.
    let notFound: Chain
    let notImplemented: Chain
    let errors: ErrorAnswers

    init(registrations: [Router.Registration], global: [any Middleware], errors: ErrorAnswers) throws(RouterError) {
        self.errors = errors
        notFound = Chain(global, .sync { _ in throw HTTPError(.notFound) }, errors: errors)
        notImplemented = Chain(global, .sync { _ in throw HTTPError(.notImplemented, "method not implemented") }, errors: errors)
        var problems: [String] = []
        countsRoutes = global.contains { $0 is RouteMetrics && $0.isActive }
        for r in registrations {
            if let problem = insert(r, global: global, errors: errors) { problems.append(problem) }
        }
        if !problems.isEmpty { throw RouterError(problems: problems) }
        for i in nodes.indices {
            var methods: [String] = []
            for (slot, m) in Method.tableOrder.enumerated() {
                // HEAD is allowed wherever GET is (slots 0 and 1).
                if nodes[i].handlers[slot] != nil || (slot == 1 && nodes[i].handlers[0] != nil) {
                    methods.append(m.name)
                }
            }
            methods += nodes[i].otherMethods.map(\.method)
            let allow = methods.joined(separator: ", ")
            nodes[i].allow = allow
            nodes[i].hasRoutes = !methods.isEmpty || nodes[i].anyRoute != nil
            // A 405 passes through the middleware of the routes at its path
            // (a CORS preflight is answered there); the first route's stands for all.
            if nodes[i].anyRoute == nil,
                let route = nodes[i].handlers.lazy.compactMap({ $0 }).first ?? nodes[i].otherMethods.first?.route
            {
                nodes[i].methodNotAllowed = Chain(
                    route.middleware,
                    .sync { _ in throw HTTPError(.methodNotAllowed, headers: [("Allow", allow)]) }, errors: errors)
            }
        }
        table = RouteTable(nodes)
    }

    /// Adds one route; returns a readable problem instead of overriding anything.
    private mutating func insert(_ r: Router.Registration, global: [any Middleware], errors: ErrorAnswers) -> String? {
        guard r.method.isToken else {
            // Quoted with escapes: the name may hold spaces or line breaks.
            return "\(r.method.name.debugDescription) \(r.pattern): not a method token (RFC 9110 section 9.1)"
        }
        let where_ = "\(r.method) \(r.pattern)"
        guard r.pattern.hasPrefix("/") else { return "\(where_): a path must start with '/'" }
        var segments = r.pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if r.pattern == "/" { segments = [] }
        var node = 0
        var names: [String] = []
        for (i, seg) in segments.enumerated() {
            if seg.hasPrefix(":") {
                let name = String(seg.dropFirst())
                if name.isEmpty { return "\(where_): a parameter needs a name (':id')" }
                if names.contains(name) { return "\(where_): parameter ':\(name)' appears twice" }
                if nodes[node].param < 0 {
                    nodes.append(Node())
                    nodes[node].param = nodes.count - 1
                    nodes[node].paramName = name
                } else if nodes[node].paramName != name {
                    return "\(where_): ':\(name)' conflicts with ':\(nodes[node].paramName)' at the same place"
                }
                names.append(name)
                node = nodes[node].param
            } else if seg.hasPrefix("*") {
                let name = String(seg.dropFirst())
                if name.isEmpty { return "\(where_): a wildcard needs a name ('*path')" }
                if i != segments.count - 1 { return "\(where_): a wildcard must be the last segment" }
                if nodes[node].wildcard < 0 {
                    nodes.append(Node())
                    nodes[node].wildcard = nodes.count - 1
                    nodes[node].wildcardName = name
                } else if nodes[node].wildcardName != name {
                    return "\(where_): '*\(name)' conflicts with '*\(nodes[node].wildcardName)' at the same place"
                }
                names.append(name)
                node = nodes[node].wildcard
            } else {
                let bytes = Array(seg.utf8)
                if let existing = nodes[node].statics.first(where: { $0.segment == bytes }) {
                    node = existing.child
                } else {
                    nodes.append(Node())
                    nodes[node].statics.append((bytes, nodes.count - 1))
                    node = nodes.count - 1
                }
            }
        }
        if names.count > RouteParams.capacity {
            return "\(where_): at most \(RouteParams.capacity) parameters in a route"
        }
        // Middleware is composed once, here (the chain leaves out the inactive):
        // a route without any runs its endpoint directly.
        let middleware = global + r.middleware
        let chain = Chain(middleware, r.endpoint, errors: errors)
        if !countsRoutes { countsRoutes = r.middleware.contains { $0 is RouteMetrics && $0.isActive } }
        if case .webSocket(let options, _) = r.endpoint, let problem = options.problem {
            return "\(where_): \(problem)"
        }
        let endsInWildcard = segments.last?.hasPrefix("*") ?? false
        let route = Route(
            pattern: r.pattern, paramNames: names, endsInWildcard: endsInWildcard, chain: chain,
            middleware: middleware, metricsIndex: UInt32(metricsLabels.count))
        metricsLabels.append((r.method.name, r.pattern))
        if r.method == .any {
            if nodes[node].anyRoute != nil { return "\(where_): registered twice" }
            nodes[node].anyRoute = route
        } else if let slot = r.method.tableIndex {
            if nodes[node].handlers[slot] != nil { return "\(where_): registered twice" }
            nodes[node].handlers[slot] = route
        } else {
            if nodes[node].otherMethods.contains(where: { $0.method == r.method.name }) {
                return "\(where_): registered twice"
            }
            nodes[node].otherMethods.append((r.method.name, route))
        }
        return nil
    }

    /// QUERY (the safe method with a body, draft-ietf-httpbis-safe-method-w-body)
    /// is a standard method the parser has no number for: at a path that
    /// has routes for other methods it is 405 with their Allow, as GET or
    /// DELETE would be, not 501, which is for a method no server knows.
    private static func isStandard(_ name: UnsafeRawBufferPointer) -> Bool {
        name.elementsEqual("QUERY".utf8)
    }

    /// The chain that answers a request no route takes.
    func missChain(_ found: Lookup) -> Chain {
        switch found {
        case .methodNotAllowed(let node): nodes[node].methodNotAllowed ?? notFound
        case .notImplemented: notImplemented
        case .found, .notFound: notFound
        }
    }

    /// Whether the request's route takes its body as a stream: the core
    /// asks before it reads a body.
    func streamsBody(_ request: UnsafePointer<chopin_request>) -> Bool {
        var params = RouteParams()
        guard case .found(let route) = find(request, &params) else { return false }
        return route._withUnsafeGuaranteedRef { $0.streamsBody }
    }

    /// Finds the route for a request and puts its parameters in the
    /// request's own memory (`route`), which must be writable: the
    /// connection's parsed request, or a copy of one.
    func route(_ request: UnsafePointer<chopin_request>) -> Lookup {
        let writable = UnsafeMutablePointer(mutating: request)
        // Nothing from the connection's previous request: the parser
        // leaves this part of the request as it was.
        writable.pointee.route.used = 0
        return find(request, &writable.pointee.route)
    }

    /// Finds the route for the request, filling in its parameters.
    func find(_ request: UnsafePointer<chopin_request>, _ params: inout RouteParams) -> Lookup {
        let path = request.pointee.path.bytes
        let found: Int?
        if path.count <= 1 {
            found = table.hasRoutes(0) ? 0 : nil
        } else {
            found = table.match(path, &params)
        }
        guard let found else { return .notFound }
        let method = request.pointee.method
        var route: Unmanaged<Route>?
        if let slot = Method.index(of: method) {
            route = table.route(found, slot: slot)
        } else {
            let name = request.pointee.method_name.bytes
            route = (nodes[found].otherMethods.first { $0.method.utf8.elementsEqual(name) }?.route ?? nodes[found].anyRoute)
                .map { Unmanaged.passUnretained($0) }
            if route == nil && method == CHOPIN_METHOD_OTHER && !Self.isStandard(name) { return .notImplemented }
        }
        guard let route else { return .methodNotAllowed(node: found) }
        return .found(route)
    }
}
