public import Logging

/// Writes one access-log line per request through swift-log: method, path,
/// query, status, duration and the client's address, as structured metadata.
///
/// ```swift
/// router.use(RequestLogger())   // label "chopin.access", level .info
/// ```
/// When the logger's level filters the line out, the middleware leaves
/// every route's chain when the server starts (``isActive``): the request
/// pays nothing. The level is read then; a logger whose level changes later
/// (a custom LogHandler) still gets one comparison per request once active.
public struct RequestLogger: Middleware {
    /// Where the lines go.
    public let logger: Logger
    /// The level of each line.
    public let level: Logger.Level

    /// - Parameters:
    ///   - logger: defaults to `Logger(label: "chopin.access")`.
    ///   - level: the level of each line; `.info` unless set.
    public init(logger: Logger = Logger(label: "chopin.access"), level: Logger.Level = .info) {
        self.logger = logger
        self.level = level
    }

    /// Only when its logger lets its level through (read once, at start:
    /// a filtered access log is not in the chain at all).
    public var isActive: Bool { logger.logLevel <= level }

    /// Passes the request on and then logs its line, with the status it was answered with
    /// and how long that took.
    public func handle(_ ctx: Context, next: (Context) throws -> Response) throws -> Response {
        guard logger.logLevel <= level else { return try next(ctx) }
        let start = ContinuousClock.now
        var status = 500
        defer { write(ctx, status: status, took: ContinuousClock.now - start) }
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
        }
    }

    private func write(_ ctx: Context, status: Int, took: Duration) {
        let (seconds, attoseconds) = took.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        var metadata: Logger.Metadata = [
            "method": "\(ctx.method)", "path": "\(ctx.path)", "status": "\(status)",
            "duration_us": "\(micros)",
        ]
        let query = ctx.query
        if !query.isEmpty { metadata["query"] = "\(query)" }
        let peer = ctx.peer?.description ?? "-"
        metadata["peer"] = "\(peer)"
        // The time is the log handler's to write (swift-log's stream handler
        // starts every line with it).
        logger.log(level: level, "\(peer) \(ctx.method) \(ctx.path) \(status) \(micros)us", metadata: metadata)
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

    /// Answers a preflight `OPTIONS` from an allowed origin with 204 and the `Access-Control-Allow-*`
    /// headers; for any other request from an allowed origin, adds `Access-Control-Allow-Origin` to the response.
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
