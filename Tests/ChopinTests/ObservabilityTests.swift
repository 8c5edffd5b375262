import CoreMetrics
import Logging
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Chopin

/// A LogHandler that keeps every line, for the assertions.
final class CapturedLog: Sendable {
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }
    let lines = Mutex<[Line]>([])

    func logger(_ label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(sink: self) }
        logger.logLevel = level
        return logger
    }

    var all: [Line] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let line = Line(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:])
            sink.lines.withLock { $0.append(line) }
        }
    }
}

private func observedServer(_ backend: Backend, workers: UInt32 = 1) -> Server {
    var config = Configuration(host: "127.0.0.1", port: 0)
    config.drainMilliseconds = 0  // a test stops at once
    config.workers = workers
    config.backend = backend
    return Server(configuration: config)
}

private struct CreatedItem: Codable { let id: Int }

/// One parsed line of Prometheus' text format.
private enum PrometheusLine: Equatable {
    case help(String), type(String, String), sample(name: String, labels: [String: String], value: Double)

    /// Parses a line strictly: a malformed one fails the test.
    static func parse(_ line: Substring) -> PrometheusLine? {
        if line.hasPrefix("# HELP ") {
            let rest = line.dropFirst(7)
            guard let space = rest.firstIndex(of: " "), !rest[space...].dropFirst().isEmpty else { return nil }
            return .help(String(rest[..<space]))
        }
        if line.hasPrefix("# TYPE ") {
            let parts = line.dropFirst(7).split(separator: " ")
            guard parts.count == 2, ["counter", "gauge", "histogram"].contains(parts[1]) else { return nil }
            return .type(String(parts[0]), String(parts[1]))
        }
        guard let open = line.firstIndex(of: "{"), let close = line.firstIndex(of: "}"), open < close,
            line[line.index(after: close)...].hasPrefix(" "),
            let value = Double(line[line.index(close, offsetBy: 2)...])
        else { return nil }
        let name = line[..<open]
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" || $0.isNumber }) else { return nil }
        var labels: [String: String] = [:]
        for pair in line[line.index(after: open)..<close].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[1].count >= 2, kv[1].first == "\"", kv[1].last == "\"" else { return nil }
            labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
        }
        return .sample(name: String(name), labels: labels, value: value)
    }
}

extension EndToEndTests {
    @Suite(.serialized) struct Observability {
        @Test(arguments: EndToEndTests.backends) func accessLogThroughSwiftLog(backend: Backend) throws {
            let log = CapturedLog()
            let router = Router()
            router.use(RequestLogger(logger: log.logger("chopin.access")))
            router.get("/items") { _ in .text("ok") }
            router.post("/items") { ctx in ctx.json(CreatedItem(id: 1), status: .created) }
            router.get("/teapot") { _ throws -> Response in throw HTTPError(418, "short and stout") }
            let running = try observedServer(backend).start(router)
            defer { running.stop() }
            let c = try TestClient(port: running.port)
            #expect(try c.request("GET", "/items?page=2").status == 200)
            #expect(try c.request("POST", "/items").status == 201)
            #expect(try c.request("GET", "/teapot").status == 418)
            let lines = log.all
            #expect(lines.count == 3)
            #expect(lines.map(\.metadata["status"]) == ["200", "201", "418"])
            #expect(lines.first?.metadata["query"] == "page=2")
            #expect(lines.first?.metadata["path"] == "/items")
            #expect(lines.first?.metadata["method"] == "GET")
            #expect(lines.allSatisfy { $0.level == .info && $0.metadata["duration_us"] != nil })
            #expect(lines.allSatisfy { $0.metadata["peer"].map { "\($0)".hasPrefix("127.0.0.1:") } == true })
        }

        @Test func filteredAccessLogWritesNothing() throws {
            let log = CapturedLog()
            let router = Router()
            router.use(RequestLogger(logger: log.logger("chopin.access", level: .warning)))
            router.get("/items") { _ in .text("ok") }
            let running = try observedServer(.epoll).start(router)
            defer { running.stop() }
            #expect(try TestClient(port: running.port).request("GET", "/items").status == 200)
            #expect(log.all.isEmpty)
            // Left out of the chain when the server starts, not skipped per request.
            #expect(!RequestLogger(logger: log.logger("chopin.access", level: .warning)).isActive)
            #expect(RequestLogger(logger: log.logger("chopin.access", level: .info)).isActive)
        }

        @Test func serverLinesGoToTheServerLogger() throws {
            let log = CapturedLog()
            let router = Router()
            router.get("/boom") { _ throws -> Response in
                struct Broken: Error {}
                throw Broken()
            }
            var server = observedServer(.epoll)
            server.logger = log.logger("chopin")
            let running = try server.start(router)
            defer { running.stop() }
            #expect(try TestClient(port: running.port).request("GET", "/boom").status == 500)
            let lines = log.all
            // The C core's startup line, through the log hook.
            #expect(lines.contains { $0.level == .notice && $0.message.hasPrefix("listening on 127.0.0.1:") })
            let error = lines.first { $0.message.contains("handler threw") }
            #expect(error?.level == .error)
            #expect(error?.metadata["route"] == "/boom")
            #expect(error?.metadata["method"] == "GET")
            // A drain is routine: a notice, never an error a pager would wake someone for.
            var drained = observedServer(.epoll)
            drained.configuration.drainMilliseconds = 50
            drained.logger = log.logger("chopin")
            try drained.start(router).stop()
            let drain = log.all.first { $0.message.hasPrefix("draining for 50 ms") }
            #expect(drain?.level == .notice, "\(drain.map { "\($0.level)" } ?? "no drain line")")
            #expect(error?.metadata["worker"] == "0")
            #expect(error?.metadata["status"] == "500")
        }

        @Test(arguments: EndToEndTests.backends) func prometheusTextParsesAndCounts(backend: Backend) throws {
            let router = Router()
            let server = observedServer(backend, workers: 2)
            router.get("/metrics", server.prometheusHandler)
            router.get("/hello") { _ in .text("hi") }
            let running = try server.start(router)
            defer { running.stop() }
            let c = try TestClient(port: running.port)
            for _ in 0..<5 { #expect(try c.request("GET", "/hello").status == 200) }
            #expect(try c.request("GET", "/missing").status == 404)
            let reply = try c.request("GET", "/metrics")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")

            var help = Set<String>(), types: [String: String] = [:], samples: [(String, [String: String], Double)] = []
            for line in reply.text.split(separator: "\n") {
                let parsed = PrometheusLine.parse(line)
                #expect(parsed != nil, "malformed line: \(line)")
                switch parsed {
                case .help(let name): help.insert(name)
                case .type(let name, let type):
                    #expect(help.contains(name), "TYPE before HELP for \(name)")
                    types[name] = type
                case .sample(let name, let labels, let value):
                    let family = types.keys.first { name == $0 || name.hasPrefix($0 + "_") }
                    #expect(family != nil, "\(name) has no TYPE line before it")
                    #expect(labels["worker"] != nil, "\(name) has no worker label")
                    samples.append((name, labels, value))
                case nil: break
                }
            }
            func total(_ name: String) -> Double { samples.filter { $0.0 == name }.reduce(0) { $0 + $1.2 } }
            #expect(Set(samples.filter { $0.0 == "chopin_requests_total" }.map { $0.1["worker"] }) == ["0", "1"])
            // The scrape itself is counted once it is answered: not yet here.
            #expect(total("chopin_requests_total") == 6)
            #expect(total("chopin_client_error_responses_total") == 1)
            #expect(total("chopin_connections_accepted_total") == 1)
            #expect(total("chopin_connections_active") == 1)
            #expect(total("chopin_request_duration_seconds_count") == 6)
            #expect(types["chopin_request_duration_seconds"] == "histogram")
            for worker in ["0", "1"] {
                let buckets = samples.filter { $0.0 == "chopin_request_duration_seconds_bucket" && $0.1["worker"] == worker }
                #expect(buckets.map(\.2) == buckets.map(\.2).sorted(), "cumulative buckets never fall")
                #expect(buckets.last?.1["le"] == "+Inf")
                let count = samples.first { $0.0 == "chopin_request_duration_seconds_count" && $0.1["worker"] == worker }
                #expect(buckets.last?.2 == count?.2)
            }
        }

        /// RouteMetrics: a series per route and status class, durations on
        /// the nanosecond clock (a fast answer is not 0), streams timed to
        /// their end, the requests no route takes without a route label.
        @Test(arguments: EndToEndTests.backends) func routeMetricsCountEachRouteAndStatusClass(backend: Backend) throws {
            let router = Router()
            let server = observedServer(backend)
            router.use(RouteMetrics())
            router.get("/metrics", server.prometheusHandler)
            router.get("/users/:id") { _ in .text("hi") }
            router.get("/slow") { (_: Request) async throws -> Response in
                try await Task.sleep(for: .milliseconds(30))
                return .text("late", status: .created)
            }
            router.get("/stream") { (_: Request) async -> Response in
                .stream { out in
                    try await out.write("a")
                    try await Task.sleep(for: .milliseconds(30))
                    try await out.write("b")
                }
            }
            router.get("/boom") { _ throws -> Response in throw HTTPError(.serviceUnavailable) }
            let running = try server.start(router)
            defer { running.stop() }
            let c = try TestClient(port: running.port)
            for id in 1...3 {
                #expect(try c.request("GET", "/users/\(id)").status == 200)
                usleep(100_000)  // one keep-alive connection: each request is timed from its own start
            }
            #expect(try c.request("GET", "/slow").status == 201)
            let streaming = try TestClient(port: running.port)
            try streaming.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try streaming.readStreamed().text == "ab")
            #expect(try c.request("GET", "/boom").status == 503)
            #expect(try c.request("GET", "/nowhere").status == 404)
            let reply = try c.request("GET", "/metrics")
            var samples: [(String, [String: String], Double)] = []
            for line in reply.text.split(separator: "\n") where line.hasPrefix("http_server_request_duration_seconds") {
                guard case .sample(let name, let labels, let value)? = PrometheusLine.parse(line) else {
                    Issue.record("malformed line: \(line)")
                    continue
                }
                samples.append((name, labels, value))
            }
            #expect(reply.text.contains("# TYPE http_server_request_duration_seconds histogram"))
            func value(_ suffix: String, _ route: String?, _ status: String, le: String? = nil) -> Double? {
                samples.first { name, labels, _ in
                    name == "http_server_request_duration_seconds_" + suffix && labels["http_route"] == route
                        && labels["http_response_status_code"] == status && labels["le"] == le
                }?.2
            }
            #expect(value("count", "/users/:id", "2xx") == 3)
            #expect((value("sum", "/users/:id", "2xx") ?? 0) > 0, "a fast answer is not 0 on this clock")
            #expect((value("sum", "/users/:id", "2xx") ?? 1) < 0.1, "not timed from an earlier request's start")
            #expect(samples.contains { $0.1["http_route"] == "/users/:id" && $0.1["http_request_method"] == "GET" })
            #expect(value("count", "/slow", "2xx") == 1)
            #expect((value("sum", "/slow", "2xx") ?? 0) >= 0.03)
            #expect(value("bucket", "/slow", "2xx", le: "0.025") == 0)
            #expect(value("bucket", "/slow", "2xx", le: "+Inf") == 1)
            // The stream is timed to its last byte, not to the handler's return.
            #expect((value("sum", "/stream", "2xx") ?? 0) >= 0.03)
            #expect(value("count", "/boom", "5xx") == 1)
            #expect(value("count", nil, "4xx") == 1, "the 404 is counted without a route")
            #expect(value("count", "/metrics", "2xx") == nil, "the scrape is counted once it is answered")
        }

        @Test func collectorHandsCountersToSwiftMetrics() async throws {
            let router = Router()
            router.get("/hello") { _ in .text("hi") }
            var server = observedServer(.epoll)
            server.metricsInterval = .milliseconds(20)
            let metrics = TestMetrics()
            server.observation.factory.withLock { $0 = metrics }
            let running = try server.start(router)
            defer { running.stop() }
            let c = try TestClient(port: running.port)
            for _ in 0..<3 { #expect(try c.request("GET", "/hello").status == 200) }
            var seen: Int64 = 0
            for _ in 0..<250 where seen < 3 {  // up to 5 s: the full suite loads both cores
                try await Task.sleep(for: .milliseconds(20))
                seen = metrics.value("chopin_requests_total", worker: "0")
            }
            #expect(seen == 3)
            #expect(metrics.value("chopin_connections_active", worker: "0") == 1)
        }

        @Test(arguments: EndToEndTests.backends) func serviceGroupDrainsTheServer(backend: Backend) async throws {
            let router = Router()
            router.get("/slow") { (_: Request) async throws -> Response in
                try? await Task.sleep(for: .milliseconds(300))
                return .text("done")
            }
            let (ports, portSink) = AsyncStream.makeStream(of: UInt16.self)
            // Worker threads in this process: the test binary is no program a supervisor could start again
            // (ExampleProcessTests' ServiceGroupTests runs the default, processes, in chopin-example).
            let chopin = ChopinService(observedServer(backend).configured { $0.isolation = .threads }, router: router) {
                portSink.yield($0.port)
            }
            let neighbour = Neighbour()
            let group = ServiceGroup(services: [chopin, neighbour], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            async let ran: Void = group.run()
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let reply = Task.detached { try TestClient(port: port).request("GET", "/slow") }
            try await Task.sleep(for: .milliseconds(100))  // the request is in flight
            await group.triggerGracefulShutdown()
            let answered = try await reply.value
            #expect(answered.status == 200 && answered.text == "done")
            try await ran
            #expect(neighbour.stopped.withLock { $0 })
            #expect(throws: (any Error).self) { try TestClient(port: port).request("GET", "/slow") }
        }
    }
}

/// Another service of the group: waits for the graceful shutdown.
private final class Neighbour: Service {
    let stopped = Mutex(false)
    func run() async throws {
        try? await gracefulShutdown()
        stopped.withLock { $0 = true }
    }
}

/// A swift-metrics backend that keeps the last value of each series.
private final class TestMetrics: MetricsFactory {
    let values = Mutex<[String: Int64]>([:])

    func value(_ label: String, worker: String) -> Int64 { values.withLock { $0["\(label)/\(worker)"] ?? 0 } }

    final class Series: CounterHandler, RecorderHandler, Sendable {
        let key: String
        let owner: TestMetrics
        init(_ key: String, _ owner: TestMetrics) { (self.key, self.owner) = (key, owner) }
        func increment(by amount: Int64) { owner.values.withLock { $0[key, default: 0] += amount } }
        func reset() { owner.values.withLock { $0[key] = 0 } }
        func record(_ value: Int64) { owner.values.withLock { $0[key] = value } }
        func record(_ value: Double) { record(Int64(value)) }
    }
    private func series(_ label: String, _ dimensions: [(String, String)]) -> Series {
        Series("\(label)/\(dimensions.first { $0.0 == "worker" }?.1 ?? "")", self)
    }
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { series(label, dimensions) }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        series(label, dimensions)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
