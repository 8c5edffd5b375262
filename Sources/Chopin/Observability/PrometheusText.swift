/// Prometheus' text exposition format (version 0.0.4) of every worker's
/// counters and latency histogram, with a `worker` label.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    static let latencyName = "chopin_request_duration_seconds"

    static func render(_ workers: [WorkerCounters]) -> String {
        var out = ""
        out.reserveCapacity(2048 + workers.count * 2048)
        for family in CounterFamily.all {
            header(&out, family.name, family.help, family.kind.rawValue)
            for (worker, reading) in workers.enumerated() {
                out += "\(family.name){worker=\"\(worker)\"} \(family.value(reading.values))\n"
            }
        }
        header(
            &out, latencyName,
            "Time from a request's dispatch to its response being queued, on the worker's loop clock.", "histogram")
        for (worker, reading) in workers.enumerated() {
            let cumulative = reading.cumulativeLatency
            for (bound, count) in zip(WorkerCounters.latencyBounds, cumulative) {
                let le = bound.map { "\($0)" } ?? "+Inf"
                out += "\(latencyName)_bucket{worker=\"\(worker)\",le=\"\(le)\"} \(count)\n"
            }
            out += "\(latencyName)_sum{worker=\"\(worker)\"} \(Double(reading.latency.sum_ms) / 1000)\n"
            out += "\(latencyName)_count{worker=\"\(worker)\"} \(cumulative.last ?? 0)\n"
        }
        return out
    }

    private static func header(_ out: inout String, _ name: String, _ help: String, _ type: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }
}
