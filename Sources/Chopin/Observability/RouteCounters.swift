internal import CChopinCore

/// One route's answers of one status class on one worker (``RouteMetrics``),
/// read from its C cell without a lock.
struct RouteCounters {
    let worker: UInt32
    let method: String
    /// Empty for the requests no route takes.
    let pattern: String
    /// "2xx".
    let statusClass: String
    let cell: chopin_route_cell

    /// Every cell that counted something, by worker, route and class.
    static func read(_ server: OpaquePointer, routes: [(method: String, pattern: String)]) -> [RouteCounters] {
        guard !routes.isEmpty else { return [] }
        var found: [RouteCounters] = []
        let count = min(UInt32(routes.count), chopin_server_route_count(server))
        for worker in 0..<chopin_server_workers(server) {
            for route in 0..<count {
                for statusClass in 0..<UInt32(CHOPIN_STATUS_CLASSES) {
                    var cell = chopin_route_cell()
                    guard chopin_server_route_metrics(server, worker, route, statusClass, &cell) == 0, cell.count > 0
                    else { continue }
                    let (method, pattern) = routes[Int(route)]
                    found.append(
                        RouteCounters(
                            worker: worker, method: method, pattern: pattern, statusClass: "\(statusClass + 1)xx",
                            cell: cell))
                }
            }
        }
        return found
    }

    /// Answers per bucket, cumulative (Prometheus' `le` buckets).
    var cumulative: [UInt64] { cumulativeCounts(cell.buckets) }

    /// Upper bounds of the buckets in seconds; nil for +Inf.
    static let bounds: [Double?] = (0..<UInt32(CHOPIN_ROUTE_BUCKETS)).map { bucket in
        let ns = chopin_route_bound_ns(bucket)
        return ns == UInt64.max ? nil : Double(ns) / 1_000_000_000
    }
}
