import ChopinTesting
import Foundation
import InMemoryTracing
import Logging
import Synchronization
import Testing
import Tracing

@testable import Chopin

// TracingMiddleware over real connections (in process), on both backends:
// one span per request, named after the route, with the HTTP attributes,
// the caller's trace as its parent, its context bound in sync and async
// handlers, and its end after the answer's last byte.

/// swift-distributed-tracing's in-memory tracer, propagating the trace as
/// W3C Trace Context does (`traceparent: 00-<trace>-<span>-01`), as
/// swift-otel's propagator would.
private struct W3CMemoryTracer: Tracer {
    let memory = InMemoryTracer()

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        memory.startSpan(
            operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line)
    }

    func forceFlush() {}

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = header.split(separator: "-")
        guard parts.count == 4 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(parts[1]), spanID: String(parts[2]), parentSpanID: nil)
    }

    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
    }

    /// The spans that ended, waiting a little for one still ending on the worker.
    func finished(_ count: Int = 1) -> [FinishedInMemorySpan] {
        for _ in 0..<200 where memory.finishedSpans.count < count { usleep(5_000) }
        return memory.finishedSpans
    }
}

/// Headers an outgoing HTTP client would send, as it injects them.
private struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout [String: String]) { headers[key] = value }
}

private struct Boom: Error {}

/// What a handler saw of the bound context.
private final class Seen: Sendable {
    let context = Mutex<InMemorySpanContext?>(nil)
    let outgoing = Mutex<[String: String]>([:])
    let whileStreaming = Mutex<(active: Int, finished: Int)?>(nil)
}

private func tracedRouter(_ tracer: W3CMemoryTracer, _ seen: Seen, assets: String?) -> Router {
    let router = Router()
    router.use(TracingMiddleware(tracer: tracer))
    router.get("/sync/user/:id") { req in
        seen.context.withLock { $0 = ServiceContext.current?.inMemorySpanContext }
        var headers: [String: String] = [:]
        tracer.inject(ServiceContext.current ?? .topLevel, into: &headers, using: HeaderInjector())
        seen.outgoing.withLock { $0 = headers }
        return .text("user \(try req.param("id") ?? "")")
    }
    router.get("/async/user/:id") { (req: Request) async throws -> Response in
        try await Task.sleep(for: .milliseconds(1))
        seen.context.withLock { $0 = ServiceContext.current?.inMemorySpanContext }
        var headers: [String: String] = [:]
        tracer.inject(ServiceContext.current ?? .topLevel, into: &headers, using: HeaderInjector())
        seen.outgoing.withLock { $0 = headers }
        return .text("user \(try req.param("id") ?? "")", status: .created)
    }
    router.post("/sync/boom") { _ throws -> Response in throw Boom() }
    router.post("/async/boom") { (_: Request) async throws -> Response in throw Boom() }
    router.get("/async/stream") { (_: Request) async -> Response in
        .stream(contentType: "text/plain") { out in
            for i in 0..<3 {
                try await out.write("piece \(i)\n")
                try await Task.sleep(for: .milliseconds(5))
            }
            seen.whileStreaming.withLock {
                $0 = (tracer.memory.activeSpans.count, tracer.memory.finishedSpans.count)
            }
        }
    }
    if let assets { router.files("/assets", directory: assets) }
    return router
}

private func attribute(_ span: FinishedInMemorySpan, _ name: String) -> SpanAttribute? {
    span.attributes.get(name)
}

@Suite struct TracingTests {
    static let backends: [Backend] = [.epoll, .uring]

    private static func serve(
        _ backend: Backend, _ tracer: W3CMemoryTracer, _ seen: Seen, assets: String? = nil
    ) throws -> TestApp {
        try TestApp(tracedRouter(tracer, seen, assets: assets)) { $0.backend = backend }
    }

    @Test(arguments: backends, [false, true])
    func oneSpanPerRequestNamedAfterTheRouteWithItsAttributes(backend: Backend, async: Bool) throws {
        let tracer = W3CMemoryTracer()
        let seen = Seen()
        let app = try Self.serve(backend, tracer, seen)
        defer { app.stop() }
        let kind = async ? "async" : "sync"
        let response = try app.get("/\(kind)/user/7")
        #expect(response.text == "user 7")
        let spans = tracer.finished()
        try #require(spans.count == 1)
        let span = spans[0]
        #expect(span.operationName == "GET /\(kind)/user/:id")
        #expect(span.kind == .server)
        #expect(span.parentSpanID == nil)
        #expect(attribute(span, "http.request.method") == .string("GET"))
        #expect(attribute(span, "url.path") == .string("/\(kind)/user/7"))
        #expect(attribute(span, "url.scheme") == .string("http"))
        #expect(attribute(span, "http.route") == .string("/\(kind)/user/:id"))
        #expect(attribute(span, "network.protocol.version") == .string("1.1"))
        #expect(attribute(span, "http.response.status_code") == .int64(async ? 201 : 200))
        #expect(attribute(span, "http.response.body.size") == .int64(6))
        #expect(span.status == nil)
        // The handler ran inside the span: its context was bound.
        #expect(seen.context.withLock { $0 } == span.spanContext)
    }

    @Test(arguments: backends, [false, true])
    func theCallersTraceIsTheParentAndAnOutgoingCallCarriesTheChild(backend: Backend, async: Bool) throws {
        let tracer = W3CMemoryTracer()
        let seen = Seen()
        let app = try Self.serve(backend, tracer, seen)
        defer { app.stop() }
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let callerSpan = "00f067aa0ba902b7"
        let response = try app.get(
            "/\(async ? "async" : "sync")/user/1", headers: [("traceparent", "00-\(traceID)-\(callerSpan)-01")])
        #expect(response.status.code == (async ? 201 : 200))
        let span = try #require(tracer.finished().first)
        #expect(span.traceID == traceID)
        #expect(span.parentSpanID == callerSpan)
        // What a client called from the handler sends on: the same trace, this span as the parent.
        #expect(seen.outgoing.withLock { $0 } == ["traceparent": "00-\(traceID)-\(span.spanID)-01"])
    }

    @Test(arguments: backends, [false, true])
    func aThrownErrorIsAnErrorSpanWithItsError(backend: Backend, async: Bool) throws {
        let tracer = W3CMemoryTracer()
        let app = try Self.serve(backend, tracer, Seen())
        defer { app.stop() }
        let response = try app.post("/\(async ? "async" : "sync")/boom", body: "{\"a\":1}")
        #expect(response.status == .internalServerError)
        let span = try #require(tracer.finished().first)
        #expect(span.status?.code == .error)
        #expect(attribute(span, "http.response.status_code") == .int64(500))
        #expect(attribute(span, "http.request.body.size") == .int64(7))
        #expect(span.errors.count == 1)
        #expect(span.errors.first?.error is Boom)
    }

    @Test(arguments: backends)
    func aRequestThatMatchesNoRouteIsNamedByItsMethodAndIsNoError(backend: Backend) throws {
        let tracer = W3CMemoryTracer()
        let app = try Self.serve(backend, tracer, Seen())
        defer { app.stop() }
        #expect(try app.get("/nowhere").status == .notFound)
        let span = try #require(tracer.finished().first)
        #expect(span.operationName == "GET")
        #expect(attribute(span, "http.route") == nil)
        #expect(attribute(span, "http.response.status_code") == .int64(404))
        #expect(span.status == nil && span.errors.isEmpty)
    }

    @Test(arguments: backends)
    func aStreamedAnswersSpanEndsAfterItsLastByte(backend: Backend) throws {
        let tracer = W3CMemoryTracer()
        let seen = Seen()
        let app = try Self.serve(backend, tracer, seen)
        defer { app.stop() }
        let response = try app.get("/async/stream")
        #expect(response.text == "piece 0\npiece 1\npiece 2\n")
        let span = try #require(tracer.finished().first)
        // Once the last piece was written, the span was still open.
        let during = try #require(seen.whileStreaming.withLock { $0 })
        #expect(during.active == 1 && during.finished == 0)
        #expect(span.operationName == "GET /async/stream")
        #expect(attribute(span, "http.response.body.size") == .int64(24))
    }

    @Test(arguments: backends)
    func aFileAnswerHasItsSpan(backend: Backend) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tracing-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("body { color: red }".utf8).write(to: directory.appendingPathComponent("site.css"))
        let tracer = W3CMemoryTracer()
        let app = try Self.serve(backend, tracer, Seen(), assets: directory.path)
        defer { app.stop() }
        let response = try app.get("/assets/site.css")
        #expect(response.text == "body { color: red }")
        let span = try #require(tracer.finished().first)
        #expect(span.operationName == "GET /assets/*path")
        #expect(attribute(span, "http.response.status_code") == .int64(200))
    }

    /// A WebSocket route: the span is the upgrade's (101), ended once it is
    /// accepted; the session itself runs in the span's context.
    @Test(arguments: backends) func aWebSocketUpgradeHasItsSpan(backend: Backend) throws {
        let tracer = W3CMemoryTracer()
        let seen = Seen()
        let router = Router()
        router.use(TracingMiddleware(tracer: tracer))
        router.webSocket("/ws") { ws in
            seen.context.withLock { $0 = ServiceContext.current?.inMemorySpanContext }
            try await ws.send(text: "hello")
        }
        let app = try TestApp(router, mode: .live) { $0.backend = backend }
        defer { app.stop() }
        let client = try TestClient(port: try #require(app.port))
        #expect(try client.upgradeReply("/ws").status == 101)
        #expect(try client.readFrame() == (0x1, Array("hello".utf8)))
        let span = try #require(tracer.finished().first)
        #expect(span.operationName == "GET /ws")
        #expect(attribute(span, "http.response.status_code") == .int64(101))
        #expect(seen.context.withLock { $0 } == span.spanContext)
    }

    @Test func withNoTracerInstalledTheMiddlewareLeavesTheChain() {
        #expect(TracingMiddleware().isActive == false)
        #expect(TracingMiddleware(tracer: NoOpTracer()).isActive == false)
        #expect(TracingMiddleware(tracer: W3CMemoryTracer()).isActive)
    }

    @Test func aLogLineInsideTheSpanCarriesItsIDs() throws {
        let tracer = W3CMemoryTracer()
        let lines = MetadataRecorder.Lines()
        // What swift-otel's metadata provider does with its own span context.
        let provider = Logger.MetadataProvider {
            guard let span = ServiceContext.current?.inMemorySpanContext else { return [:] }
            return ["trace_id": "\(span.traceID)", "span_id": "\(span.spanID)"]
        }
        let logger = Logger(label: "access") { _ in MetadataRecorder(lines: lines, metadataProvider: provider) }
        let router = Router()
        router.use(TracingMiddleware(tracer: tracer))
        router.use(RequestLogger(logger: logger))
        router.get("/sync") { _ in .text("ok") }
        router.get("/async") { (_: Request) async -> Response in .text("ok") }
        let app = try TestApp(router)
        defer { app.stop() }
        for path in ["/sync", "/async"] { #expect(try app.get(path).text == "ok") }
        let spans = tracer.finished(2)
        let logged = lines.all.withLock { $0 }
        try #require(logged.count == 2 && spans.count == 2)
        for (line, span) in zip(logged, spans) {
            #expect(line["trace_id"] == "\(span.traceID)")
            #expect(line["span_id"] == "\(span.spanID)")
        }
    }
}

/// Keeps the metadata of every line (its provider's included).
private struct MetadataRecorder: LogHandler {
    final class Lines: Sendable { let all = Mutex<[Logger.Metadata]>([]) }
    let lines: Lines
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { a, _ in a } }
        if let own = event.metadata { all.merge(own) { a, _ in a } }
        lines.all.withLock { $0.append(all) }
    }
}
