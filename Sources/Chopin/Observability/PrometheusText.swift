/// Prometheus' text exposition format (version 0.0.4) of every worker's
/// counters and latency histogram, with a `worker` label.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    static let latencyName = "chopin_request_duration_seconds"
    static let routeName = "http_server_request_duration_seconds"

    static func render(_ workers: [WorkerCounters], routes: [RouteCounters] = []) -> String {
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
            series(
                &out, latencyName, labels: "worker=\"\(worker)\"", bounds: WorkerCounters.latencyBounds,
                cumulative: cumulative, sum: Double(reading.latency.sum_ms) / 1000, count: cumulative.last ?? 0)
        }
        if !routes.isEmpty { renderRoutes(&out, routes) }
        return out
    }

    /// RouteMetrics' histogram: a series per worker, route and status class.
    private static func renderRoutes(_ out: inout String, _ routes: [RouteCounters]) {
        header(
            &out, routeName,
            "Duration of HTTP server requests by route and status class (RouteMetrics), on the monotonic clock.",
            "histogram")
        for r in routes {
            var labels = "worker=\"\(r.worker)\""
            if !r.pattern.isEmpty {
                labels += ",http_request_method=\"\(escape(r.method))\",http_route=\"\(escape(r.pattern))\""
            }
            labels += ",http_response_status_code=\"\(r.statusClass)\""
            series(
                &out, routeName, labels: labels, bounds: RouteCounters.bounds, cumulative: r.cumulative,
                sum: Double(r.cell.sum_ns) / 1_000_000_000, count: r.cell.count)
        }
    }

    /// One histogram series: its cumulative buckets (`le` in seconds, nil
    /// for +Inf), its sum in seconds and its count.
    private static func series(
        _ out: inout String, _ name: String, labels: String, bounds: [Double?], cumulative: [UInt64], sum: Double,
        count: UInt64
    ) {
        for (bound, inBucket) in zip(bounds, cumulative) {
            let le = bound.map { "\($0)" } ?? "+Inf"
            out += "\(name)_bucket{\(labels),le=\"\(le)\"} \(inBucket)\n"
        }
        out += "\(name)_sum{\(labels)} \(sum)\n"
        out += "\(name)_count{\(labels)} \(count)\n"
    }

    /// A label value as the text format writes it: backslash, quote and newline escaped.
    private static func escape(_ value: String) -> String {
        var escaped = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(c)
            }
        }
        return escaped
    }

    private static func header(_ out: inout String, _ name: String, _ help: String, _ type: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }
}
