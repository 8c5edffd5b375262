internal import CChopinCore

/// One worker's counters and latency histogram, read from its C block
/// without a lock (relaxed loads: a reading may be a few requests behind).
struct WorkerCounters {
    var values: chopin_metrics
    var latency: chopin_latency

    /// Every worker's reading, in worker order.
    static func read(_ server: OpaquePointer) -> [WorkerCounters] {
        (0..<chopin_server_workers(server)).map { worker in
            var reading = WorkerCounters(values: chopin_metrics(), latency: chopin_latency())
            chopin_server_worker_metrics(server, worker, &reading.values, &reading.latency)
            return reading
        }
    }

    /// Requests per latency bucket, cumulative (Prometheus' `le` buckets).
    var cumulativeLatency: [UInt64] { cumulativeCounts(latency.buckets) }

    /// Upper bounds of the latency buckets in seconds; nil for +Inf.
    static let latencyBounds: [Double?] = (0..<UInt32(CHOPIN_LATENCY_BUCKETS)).map { bucket in
        let ms = chopin_latency_bound_ms(bucket)
        return ms == UInt32.max ? nil : Double(ms) / 1000
    }
}

/// The running totals of a C array of per-bucket counts (a tuple of
/// UInt64 in Swift): Prometheus' cumulative `le` buckets.
func cumulativeCounts<Buckets>(_ buckets: Buckets) -> [UInt64] {
    var total: UInt64 = 0
    return withUnsafeBytes(of: buckets) { raw in
        raw.bindMemory(to: UInt64.self).map { count in
            total &+= count
            return total
        }
    }
}

/// What Chopin exports of each worker: a name, what it means, and whether it
/// only grows (a counter) or goes up and down (a gauge). The Prometheus text
/// and the swift-metrics collector both read this one list.
struct CounterFamily: Sendable {
    enum Kind: String, Sendable { case counter, gauge }
    let name: String
    let help: String
    let kind: Kind
    let value: @Sendable (chopin_metrics) -> UInt64

    static let all: [CounterFamily] = [
        .init(name: "chopin_requests_total", help: "Requests handed to the application.", kind: .counter) { $0.requests },
        .init(name: "chopin_received_bytes_total", help: "Bytes read from clients.", kind: .counter) { $0.bytes_in },
        .init(name: "chopin_sent_bytes_total", help: "Bytes of responses handed to the kernel.", kind: .counter) {
            $0.bytes_out
        },
        .init(name: "chopin_connections_accepted_total", help: "Connections accepted.", kind: .counter) {
            $0.accepted
        },
        .init(name: "chopin_connections_closed_total", help: "Connections closed.", kind: .counter) { $0.closed },
        .init(name: "chopin_connections_active", help: "Connections open now.", kind: .gauge) { $0.active },
        .init(name: "chopin_client_error_responses_total", help: "Responses with a 4xx status.", kind: .counter) {
            $0.responses_4xx
        },
        .init(name: "chopin_server_error_responses_total", help: "Responses with a 5xx status.", kind: .counter) {
            $0.responses_5xx
        },
        .init(name: "chopin_parse_errors_total", help: "Requests refused as malformed (400).", kind: .counter) {
            $0.parse_errors
        },
        .init(name: "chopin_timeouts_total", help: "Connections ended by a timeout.", kind: .counter) { $0.timeouts },
        .init(
            name: "chopin_buffer_bytes", help: "Bytes held for unfinished input and unsent output.", kind: .gauge
        ) { $0.buffer_bytes },
        .init(
            name: "chopin_receive_buffer_waits_total",
            help: "io_uring receives that found every receive buffer in use.", kind: .counter
        ) { $0.recv_buffer_waits },
        .init(
            name: "chopin_buffer_heap_allocations_total",
            help: "Buffers taken from the heap: the buffer pool growing to the peak of bytes in flight, "
                + "or a buffer outgrowing a pool block. A steady load takes none.", kind: .counter
        ) { $0.buffer_heap_allocations },
        .init(
            name: "chopin_worker_restarts_total",
            help: "Times the worker process died and was started again.", kind: .counter
        ) { $0.restarts },
        .init(
            name: "chopin_rolling_restart_failures_total",
            help: "Replacements of a rolling restart that exited, died or did not serve in time; "
                + "the roll stopped there and the worker kept serving.", kind: .counter
        ) { $0.rolling_restart_failures },
        .init(
            name: "chopin_tls_kernel_connections_total",
            help: "TLS connections whose write keys went to the kernel after the handshake (kTLS): "
                + "their responses and files are sealed by the kernel.", kind: .counter
        ) { $0.tls_kernel },
        .init(
            name: "chopin_tls_failures_total",
            help: "TLS handshakes and sessions that failed: a client that refused the certificate, no common "
                + "protocol or suite, a forged record (plain HTTP at the HTTPS port is a 400, a parse error).",
            kind: .counter
        ) { $0.tls_failures },
    ]
}
