public import Tracing

/// A distributed-tracing span for every request, through swift-distributed-tracing:
/// whichever tracer the app installs (swift-otel's, for OpenTelemetry)
/// records it.
///
/// ```swift
/// router.use(TracingMiddleware())   // first: its span covers the middleware after it
/// ```
/// For each request it:
/// - takes the caller's trace from the request's headers, as the installed
///   instrument reads them (W3C `traceparent`/`tracestate` with swift-otel's
///   propagator): the span is then its child;
/// - starts a `.server` span named after the route's pattern
///   (`GET /user/:id`, never the raw path: one name for all the requests of
///   a route; the method alone for a request that matched no route);
/// - records the OpenTelemetry HTTP attributes: `http.request.method`,
///   `url.path`, `url.scheme`, `http.route`, `client.address`,
///   `network.protocol.version`, `http.request.body.size`,
///   `http.response.status_code` and `http.response.body.size`;
/// - binds the span's context (`ServiceContext.current`) while the rest
///   of the chain and the handler run, synchronous or async: an HTTP client
///   called from the handler sends the trace on, and a log line written
///   there carries its ids where the logging system has a metadata
///   provider for them (swift-otel's);
/// - marks a 5xx answer as an error, with the error a handler threw;
/// - ends the span when the answer's body has ended: a streamed body's
///   last byte, not the handler's return.
///
/// With no tracer installed (swift-distributed-tracing's no-op tracer),
/// the middleware leaves every chain when the server starts: a request
/// pays nothing for it.
public struct TracingMiddleware: ScopedMiddleware {
    /// The tracer given to ``init(tracer:)``; nil: the one installed
    /// (`InstrumentationSystem.tracer`), read for each request.
    let tracer: (any Tracer)?

    /// - Parameter tracer: the tracer to record the spans with; by default,
    ///   the one bootstrapped with `InstrumentationSystem.bootstrap`.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    /// False when the tracer is swift-distributed-tracing's no-op one (read
    /// once, when the server starts: bootstrap the tracer before serving).
    public var isActive: Bool { !((tracer ?? InstrumentationSystem.tracer) is NoOpTracer) }

    /// The request's span, from `before` to `after`.
    private enum ActiveSpan: RequestStorageKey { typealias Value = any Span }

    /// Starts the span, as a child of the caller's trace when the headers carry one.
    public func before(_ request: inout Request) throws -> Response? {
        let tracer = tracer ?? InstrumentationSystem.tracer
        var context = ServiceContext.current ?? .topLevel
        tracer.extract(request, into: &context, using: RequestHeaders())
        let method = request.method.description
        let route = request.route
        let span = tracer.startSpan(route.isEmpty ? method : "\(method) \(route)", context: context, ofKind: .server)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = method
            attributes["url.path"] = request.path
            attributes["url.scheme"] = "http"
            if !route.isEmpty { attributes["http.route"] = route }
            if let client = request.clientAddress { attributes["client.address"] = client.description }
            let version = request.version
            attributes["network.protocol.version"] = version.minor == 0 ? "1.0" : "1.1"
            if let size = Self.requestBodySize(request) { attributes["http.request.body.size"] = Int64(size) }
        }
        request.storage[key: ActiveSpan.self] = span
        return nil
    }

    /// The rest of the chain, with the span's context bound.
    public func withScope(_ request: Request, _ rest: () -> Response) -> Response {
        guard let span = request.storage[key: ActiveSpan.self] else { return rest() }
        return ServiceContext.withValue(span.context) {
            ThrownErrors.$observer.withValue(Self.observer(span)) { rest() }
        }
    }

    /// The rest of the chain, with the span's context bound.
    nonisolated(nonsending) public func withScope(
        _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
    ) async -> Response {
        guard let span = request.storage[key: ActiveSpan.self] else { return await rest() }
        return await ServiceContext.withValue(span.context) {
            await ThrownErrors.$observer.withValue(Self.observer(span)) { await rest() }
        }
    }

    /// Records the status and ends the span once the body has ended.
    public func after(_ request: Request, response: inout Response) throws {
        guard let span = request.storage[key: ActiveSpan.self] else { return }
        let status = response.status.code
        span.attributes["http.response.status_code"] = Int64(status)
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        response = response.whenBodyEnds { end in
            if let bytes = end.bytes { span.attributes["http.response.body.size"] = Int64(bytes) }
            if let error = end.error {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error))
            }
            span.end()
        }
    }

    /// A thrown error that is answered with a 5xx is the span's error.
    private static func observer(_ span: any Span) -> @Sendable (any Error) -> Void {
        { error in if ErrorReport(error).status.code >= 500 { span.recordError(error) } }
    }

    /// The body's size: what Content-Length says, or the body already read.
    private static func requestBodySize(_ request: Request) -> Int? {
        if let length = request.header("Content-Length"), let size = Int(length) { return size }
        let body = request.body
        return body.isEmpty ? nil : body.count
    }

    /// Reads a propagated context from the request's headers.
    private struct RequestHeaders: Extractor {
        func extract(key: String, from request: Request) -> String? { request.header(key) }
    }
}
