/// Cross-origin resource sharing: adds `Access-Control-Allow-Origin` to
/// every answer for an allowed origin (error answers included), and
/// answers the browser's preflight `OPTIONS` for every route it covers.
///
/// ```swift
/// router.use(CORS(allowedOrigins: ["https://example.com"]))
/// ```
/// Used on the router, it also covers the paths' other methods: a preflight
/// to a path that has no OPTIONS route reaches it on the way to the 405,
/// and is answered 204. Used on a group, it covers the group's paths.
public struct CORS: SyncMiddleware {
    /// The origins allowed, exactly as a browser sends them in `Origin`, or `["*"]` for any.
    public let allowedOrigins: [String]
    /// The `Access-Control-Allow-Methods` value a preflight is answered with.
    public let allowedMethods: String
    /// The `Access-Control-Allow-Headers` value a preflight is answered with.
    public let allowedHeaders: String
    /// How many seconds a browser may cache a preflight's answer (`Access-Control-Max-Age`).
    public let maxAge: Int

    /// - Parameters:
    ///   - allowedOrigins: exact origins, or ["*"] for any.
    ///   - allowedMethods: the `Access-Control-Allow-Methods` a preflight answers.
    ///   - allowedHeaders: the `Access-Control-Allow-Headers` a preflight answers.
    ///   - maxAge: seconds a browser may cache a preflight's answer.
    public init(
        allowedOrigins: [String] = ["*"], allowedMethods: String = "GET, POST, PUT, DELETE, PATCH",
        allowedHeaders: String = "Content-Type, Authorization", maxAge: Int = 600
    ) {
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.maxAge = maxAge
    }

    /// The `Access-Control-Allow-Origin` value for the request's origin; nil
    /// when it has none or it is not allowed.
    private func allowed(_ request: Request) -> String? {
        guard let origin = request.header("Origin") else { return nil }
        if allowedOrigins.contains("*") { return "*" }
        return allowedOrigins.contains(origin) ? origin : nil
    }

    /// Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`)
    /// from an allowed origin with 204 and the `Access-Control-Allow-*` headers.
    public func before(_ request: inout Request) throws -> Response? {
        guard request.method == .options, request.header("Access-Control-Request-Method") != nil,
            let allow = allowed(request)
        else { return nil }
        return Response(status: .noContent)
            .header("Access-Control-Allow-Origin", allow)
            .header("Access-Control-Allow-Methods", allowedMethods)
            .header("Access-Control-Allow-Headers", allowedHeaders)
            .header("Access-Control-Max-Age", String(maxAge))
            .header("Vary", "Origin")
    }

    /// Adds `Access-Control-Allow-Origin` (and `Vary: Origin`) to the answer
    /// of a request from an allowed origin.
    public func after(_ request: Request, response: inout Response) throws {
        guard let allow = allowed(request) else { return }
        response.headers.append(("Access-Control-Allow-Origin", allow))
        response.headers.append(("Vary", "Origin"))
    }
}

extension Router {
    /// Registers an OPTIONS route for `path` that answers 204.
    @available(*, deprecated, message: "CORS answers preflights for every route it covers; no registration is needed")
    public func allowPreflight(_ path: String) {
        on(.options, path) { _ in Response(status: .noContent) }
    }
}
