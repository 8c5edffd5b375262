internal import CChopinCore
import CoreMetrics
import Synchronization

/// The running C server behind a ``Server`` value, for the readers that
/// outlive no server: the Prometheus handler and the swift-metrics
/// collector read the counters under the lock, and ``RunningServer`` takes
/// the server away under the same lock before it is freed.
final class ServerObservation: Sendable {
    // @unchecked: the C server is safe to read from any thread; Swift cannot know that.
    private struct State: ~Copyable, @unchecked Sendable {
        var server: OpaquePointer?
        var collector: Task<Void, Never>?
        /// Detached once: a server that is gone, not one still starting.
        var ended = false
        /// RouteMetrics' routes by number (method, pattern); empty when none counts.
        var routes: [(method: String, pattern: String)] = []
    }
    private let state = Mutex(State())
    /// The collector's metrics backend; nil: `MetricsSystem.factory` (tests set their own).
    let factory = Mutex<(any MetricsFactory)?>(nil)

    /// With worker processes only the supervisor hands the counters to
    /// swift-metrics: every process can read every worker's counters, so if
    /// each reported them they would be counted once per process. The
    /// supervisor is the one process that lives as long as the server (a
    /// worker's collector would die with it, losing what changed since its
    /// last reading, and its replacement would report the totals again).
    func attach(
        _ server: OpaquePointer, isolation: Isolation, collectEvery interval: Duration?,
        routes: [(method: String, pattern: String)] = []
    ) {
        let reports = isolation == .threads || chopin_server_is_supervisor(server) != 0
        let collector = (reports ? interval : nil).map { interval in
            Task.detached(priority: .background) { [self] in
                let factory = self.factory.withLock { $0 } ?? MetricsSystem.factory
                await MetricsCollector(observation: self, interval: interval, factory: factory).run()
            }
        }
        state.withLock { $0 = State(server: server, collector: collector, routes: routes) }
    }

    /// Before the C server is freed: readers find nothing from now on.
    func detach() {
        let collector = state.withLock { state in
            state.server = nil
            state.ended = true
            return state.collector.take()
        }
        collector?.cancel()
    }

    /// The running server's last rolling restart (`.none` when none runs).
    func rollingRestart() -> RollingRestartStatus {
        state.withLock { state in state.server.map(RollingRestartStatus.read) } ?? RollingRestartStatus(chopin_roll_status())
    }

    /// Every worker's counters, or nil when no server is running.
    func read() -> [WorkerCounters]? {
        state.withLock { state in state.server.map(WorkerCounters.read) }
    }

    /// Answers a readiness probe: 200 while the server serves, 503 once its
    /// graceful stop has begun (or before it started, or after it ended).
    /// A failed rolling restart is said in the body (still 200: the workers
    /// it did not replace serve as before).
    func readiness(_ ctx: Context) -> Response {
        let (ready, starting, roll) = state.withLock { state -> (Bool, Bool, RollingRestartStatus?) in
            // A worker serves a moment before its observation is attached.
            guard let server = state.server else { return (false, !state.ended, nil) }
            return (chopin_server_draining(server) == 0, false, RollingRestartStatus.read(server))
        }
        guard ready else { return .text(starting ? "starting\n" : "draining\n", status: .serviceUnavailable) }
        // Which worker, not why: the reason (a fatal error's text) is for the log, not a public port.
        if let roll, roll.state == .failed {
            return .text("ready; the last rolling restart failed at worker \(roll.workersReplaced) (see the log)\n")
        }
        return .text("ready\n")
    }

    /// Answers `GET /metrics` in Prometheus' text format (503 when the
    /// server is not running).
    func prometheus(_ ctx: Context) -> Response {
        let reading = state.withLock { state in
            state.server.map { (WorkerCounters.read($0), RouteCounters.read($0, routes: state.routes)) }
        }
        guard let (workers, routes) = reading else {
            return .text("the server is not running\n", status: .serviceUnavailable)
        }
        return .bytes(Array(PrometheusText.render(workers, routes: routes).utf8), contentType: PrometheusText.contentType)
    }
}

/// Hands the C counters to swift-metrics every `interval`, off the request
/// path: counters grow by what changed since the last reading, gauges are
/// set. The latency histogram is exported only in Prometheus' text
/// (swift-metrics' recorders take single values, not bucket counts).
struct MetricsCollector {
    let observation: ServerObservation
    let interval: Duration
    let factory: any MetricsFactory

    /// Where one family's value of one worker goes.
    private enum Sink {
        case counter(Counter, last: UInt64)
        case gauge(Gauge)

        init(_ family: CounterFamily, worker: Int, factory: any MetricsFactory) {
            let dimensions = [("worker", "\(worker)")]
            switch family.kind {
            case .counter: self = .counter(Counter(label: family.name, dimensions: dimensions, factory: factory), last: 0)
            case .gauge: self = .gauge(Gauge(label: family.name, dimensions: dimensions, factory: factory))
            }
        }

        mutating func report(_ value: UInt64) {
            switch self {
            case .counter(let counter, let last):
                if value > last { counter.increment(by: Int64(clamping: value - last)) }
                self = .counter(counter, last: value)
            case .gauge(let gauge):
                gauge.record(Int64(clamping: value))
            }
        }
    }

    func run() async {
        var sinks: [[Sink]] = []  // [worker][family]
        while !Task.isCancelled {
            guard let workers = observation.read() else { return }
            while sinks.count < workers.count {
                let worker = sinks.count
                sinks.append(CounterFamily.all.map { Sink($0, worker: worker, factory: factory) })
            }
            for (worker, reading) in workers.enumerated() {
                for (index, family) in CounterFamily.all.enumerated() {
                    sinks[worker][index].report(family.value(reading.values))
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
