#if canImport(Glibc)
    import Glibc
#endif

/// Logs one line per request: method, path, status and duration.
///
/// ```swift
/// router.use(RequestLogger())
/// ```
/// It formats a String per request, so it allocates: add it where the
/// insight is worth more than the nanoseconds.
public struct RequestLogger: Middleware {
    public init() {}

    public func handle(_ ctx: Context, next: (Context) throws -> Response) throws -> Response {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let status: Int
        defer {
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            let micros = (end.tv_sec - start.tv_sec) * 1_000_000 + (end.tv_nsec - start.tv_nsec) / 1000
            var line = "\(ctx.method) \(ctx.path) \(status) \(micros)us\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        }
        do {
            let response = try next(ctx)
            status = response.status.code
            return response
        } catch let e as HTTPError {
            status = e.status.code
            throw e
        } catch let e as ExtractionError {
            status = e.status.code
            throw e
        } catch {
            status = 500
            throw error
        }
    }
}

/// Cross-origin resource sharing: adds `Access-Control-Allow-Origin` to
/// responses for allowed origins, and answers preflight `OPTIONS` requests
/// (register an OPTIONS route, or use ``Router/allowPreflight(_:)``).
///
/// ```swift
/// router.use(CORS(allowedOrigins: ["https://example.com"]))
/// ```
public struct CORS: Middleware {
    public let allowedOrigins: [String]
    public let allowedMethods: String
    public let allowedHeaders: String
    public let maxAge: Int

    /// - Parameters:
    ///   - allowedOrigins: exact origins, or ["*"] for any.
    public init(
        allowedOrigins: [String] = ["*"], allowedMethods: String = "GET, POST, PUT, DELETE, PATCH",
        allowedHeaders: String = "Content-Type, Authorization", maxAge: Int = 600
    ) {
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.maxAge = maxAge
    }

    public func handle(_ ctx: Context, next: (Context) throws -> Response) throws -> Response {
        guard let origin = ctx.header("Origin") else { return try next(ctx) }
        let any = allowedOrigins.contains("*")
        guard any || allowedOrigins.contains(origin) else { return try next(ctx) }
        let allow = any ? "*" : origin
        if ctx.method == .options && ctx.header("Access-Control-Request-Method") != nil {
            return Response(status: .noContent)
                .header("Access-Control-Allow-Origin", allow)
                .header("Access-Control-Allow-Methods", allowedMethods)
                .header("Access-Control-Allow-Headers", allowedHeaders)
                .header("Access-Control-Max-Age", String(maxAge))
                .header("Vary", "Origin")
        }
        var response = try next(ctx)
        response.headers.append(("Access-Control-Allow-Origin", allow))
        response.headers.append(("Vary", "Origin"))
        return response
    }
}

extension Router {
    /// Registers an OPTIONS route for `path` so CORS preflights reach the middleware.
    public func allowPreflight(_ path: String) {
        on(.options, path) { _ in Response(status: .noContent) }
    }
}
