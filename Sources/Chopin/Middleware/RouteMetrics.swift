#if canImport(Glibc)
import Glibc
#endif

/// Request counts and durations per route and status class, the way
/// OpenTelemetry names them: `http_server_request_duration_seconds`, a
/// histogram labelled with `http_request_method`, `http_route` (the
/// pattern, `/user/:id`) and `http_response_status_code` (its class:
/// `2xx`), in ``Server/prometheusHandler``'s text, per worker.
///
/// ```swift
/// router.use(RouteMetrics())   // first: it times everything after it
/// router.get("/metrics", server.prometheusHandler)
/// ```
/// Durations are measured with the monotonic clock in nanoseconds (buckets
/// from 50 µs to 10 s), from when the route's chain starts on the worker
/// (or, for an async route, in its task) to when its answer is given; for
/// a streamed answer, to its body's end. The requests no route takes (404,
/// 405, 501) are counted without an `http_route`. Each worker counts in
/// cells of its own, in memory its worker processes share, as the server's
/// other counters: a scrape of any worker sees every worker, and a request
/// pays two clock readings and three stores, with no allocation and no lock.
public struct RouteMetrics: ScopedMiddleware {
    /// Counts the routes it covers (place it first: it times what comes after it).
    public init() {}

    /// Times the rest of the chain and counts its answer.
    public func withScope(_ request: Request, _ rest: () -> Response) -> Response {
        let start = Self.now()
        return record(request, rest(), since: start)
    }

    /// Times the rest of the chain and counts its answer.
    nonisolated(nonsending) public func withScope(
        _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
    ) async -> Response {
        let start = Self.now()
        return record(request, await rest(), since: start)
    }

    private func record(_ request: Request, _ response: Response, since start: UInt64) -> Response {
        let route = request.matchedRoute?._withUnsafeGuaranteedRef { $0.metricsIndex } ?? 0
        let status = response.status.code
        guard response.isStream else {
            request.writer.recordRoute(route, status: status, nanoseconds: Self.now() &- start)
            return response
        }
        return response.whenBodyEnds { _ in
            request.writer.recordRoute(route, status: status, nanoseconds: Self.now() &- start)
        }
    }

    /// The monotonic clock, in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
