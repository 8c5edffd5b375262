internal import CChopinCore

/// What the router decided for one request, for tests.
struct RoutingDecision: Equatable {
    var status: Int  // 200 when a route matched
    var pattern: String
    var params: [String: String]
    var allow: String
    /// The wildcard as ``RelativePath`` resolves it; nil when the route has
    /// no wildcard or the path is refused.
    var relativePath: [String]? = nil
}

extension Router {
    /// Routes `method target` without a server: parses a real request head
    /// with the C parser and runs the frozen tree's lookup.
    func decide(_ method: String, _ target: String) throws -> RoutingDecision {
        let tree = try freeze()
        var scratch: UInt8 = 0
        return try withParsedHead("\(method) \(target) HTTP/1.1\r\nHost: t\r\n\r\n") { r in
            try withUnsafeMutablePointer(to: &scratch) { s in
                let found = tree.route(r)
                let ctx = Request(head: r, writer: ResponseWriter(OpaquePointer(s)), matched: found.unmanaged)
                switch found {
                case .found(let unmanaged):
                    let route = unmanaged.takeUnretainedValue()
                    var params: [String: String] = [:]
                    for name in route.paramNames { params[name] = try ctx.param(name) }
                    let relative = route.endsInWildcard ? try? RelativePath.extract(from: ctx) : nil
                    return RoutingDecision(
                        status: 200, pattern: route.pattern, params: params, allow: "",
                        relativePath: relative?.segments)
                case .notFound:
                    return RoutingDecision(status: 404, pattern: "", params: [:], allow: "")
                case .methodNotAllowed(let node):
                    return RoutingDecision(status: 405, pattern: "", params: [:], allow: tree.allow(node))
                case .notImplemented:
                    return RoutingDecision(status: 501, pattern: "", params: [:], allow: "")
                }
            }
        }
    }
}
