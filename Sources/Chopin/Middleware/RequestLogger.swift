public import Logging

/// Writes one access-log line per request through swift-log: method, path,
/// query, the status the client got, the duration and the client's
/// address, as structured metadata. The line starts with
/// ``Request/clientAddress`` (the client behind ``Configuration/trustedProxies``,
/// the peer otherwise); `peer` in the metadata is the connection's own end.
///
/// ```swift
/// router.use(RequestLogger())   // label "chopin.access", level .info
/// ```
/// Used on the router, it logs every request the router answers: its
/// routes (synchronous or async: the line is written when the answer is,
/// with its real status and duration) and the 404s, 405s and 501s. When
/// the logger's level filters the line out, the middleware leaves every
/// chain when the server starts (``isActive``): the request pays nothing.
public struct RequestLogger: SyncMiddleware {
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

    private enum Started: RequestStorageKey { typealias Value = ContinuousClock.Instant }

    /// Notes when the request came in.
    public func before(_ request: inout Request) throws -> Response? {
        request.storage[key: Started.self] = ContinuousClock.now
        return nil
    }

    /// Logs the line, with the status the client gets and how long the
    /// answer took: for a streamed answer, once its body has ended, with
    /// the bytes it had.
    public func after(_ request: Request, response: inout Response) throws {
        guard logger.logLevel <= level else { return }
        guard response.isStream else { return write(request, status: response.status.code, bytes: nil) }
        let status = response.status.code
        response = response.whenBodyEnds { [self] end in write(request, status: status, bytes: end.bytes) }
    }

    private func write(_ request: Request, status: Int, bytes: Int?) {
        let took = request.storage[key: Started.self].map { ContinuousClock.now - $0 } ?? .zero
        let (seconds, attoseconds) = took.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.path)", "status": "\(status)",
            "duration_us": "\(micros)",
        ]
        if let bytes { metadata["bytes"] = "\(bytes)" }
        let query = request.query
        if !query.isEmpty { metadata["query"] = "\(query)" }
        metadata["peer"] = "\(request.peer?.description ?? "-")"
        let client = request.clientAddress?.description ?? "-"
        metadata["client"] = "\(client)"
        // The time is the log handler's to write (swift-log's stream handler
        // starts every line with it).
        logger.log(level: level, "\(client) \(request.method) \(request.path) \(status) \(micros)us", metadata: metadata)
    }
}
