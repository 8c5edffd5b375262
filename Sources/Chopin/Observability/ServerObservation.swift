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
    }
    private let state = Mutex(State())
    /// The collector's metrics backend; nil: `MetricsSystem.factory` (tests set their own).
    let factory = Mutex<(any MetricsFactory)?>(nil)

    func attach(_ server: OpaquePointer, collectEvery interval: Duration?) {
        let collector = interval.map { interval in
            Task.detached(priority: .background) { [self] in
                let factory = self.factory.withLock { $0 } ?? MetricsSystem.factory
                await MetricsCollector(observation: self, interval: interval, factory: factory).run()
            }
        }
        state.withLock { $0 = State(server: server, collector: collector) }
    }

    /// Before the C server is freed: readers find nothing from now on.
    func detach() {
        let collector = state.withLock { state in
            state.server = nil
            return state.collector.take()
        }
        collector?.cancel()
    }

    /// Every worker's counters, or nil when no server is running.
    func read() -> [WorkerCounters]? {
        state.withLock { state in state.server.map(WorkerCounters.read) }
    }

    /// Answers `GET /metrics` in Prometheus' text format (503 when the
    /// server is not running).
    func prometheus(_ ctx: Context) -> Response {
        guard let workers = read() else {
            return .text("the server is not running\n", status: .serviceUnavailable)
        }
        return .bytes(Array(PrometheusText.render(workers).utf8), contentType: PrometheusText.contentType)
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
