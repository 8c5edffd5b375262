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
/// from 50 µs to 10 s), from when the route's chain reaches it on the
/// worker (for an async route too: the wait for its task counts) to when
/// its answer is given; for a streamed answer, to its body's end. The
/// requests no route takes (404, 405, 501) are counted without an
/// `http_route`. Each worker counts in cells of its own, in memory its
/// worker processes share, as the server's other counters: a scrape of any
/// worker sees every worker, and a request pays two clock readings and
/// three stores, with no allocation and no lock.
public struct RouteMetrics: SyncMiddleware {
    /// Counts the routes it covers (place it first: it times what comes after it).
    public init() {}

    /// Starts the clock. The start is kept in the parsed request (no
    /// allocation, nothing to carry through an async route's task), and
    /// the first ``RouteMetrics`` of a chain sets it.
    public func before(_ request: inout Request) throws -> Response? {
        if request.timerStarted == 0 { request.timerStarted = Self.now() }
        return nil
    }

    /// Counts the answer the rest of the chain gave, now or, for a stream,
    /// when its body ends.
    public func after(_ request: Request, response: inout Response) {
        let start = request.timerStarted
        let route = request.matchedRoute?._withUnsafeGuaranteedRef { $0.metricsIndex } ?? 0
        let status = response.status.code
        guard response.isStream else {
            request.writer.recordRoute(route, status: status, nanoseconds: Self.now() &- start)
            return
        }
        response = response.whenBodyEnds { _ in
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

extension Request {
    /// When ``RouteMetrics`` started timing this request (monotonic
    /// nanoseconds), 0 before: a field of the parsed request, which the
    /// parser zeroes. Written only by a middleware's `before`, on the
    /// thread that runs the request, before its handler: the one write an
    /// otherwise read-only request takes (an owned copy carries it).
    var timerStarted: UInt64 {
        get { head.pointee.timer_started_ns }
        nonmutating set { UnsafeMutablePointer(mutating: head).pointee.timer_started_ns = newValue }
    }
}
