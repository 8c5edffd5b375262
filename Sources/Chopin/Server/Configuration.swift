internal import CChopinCore

/// Which event loop a worker runs.
public enum Backend: String, Sendable, CaseIterable {
    /// io_uring where the kernel allows it, else epoll (the startup log says which and why).
    case auto
    /// io_uring, or a clear error where it cannot be set up.
    case uring
    /// epoll.
    case epoll
}

/// Where a trap in a handler (a force-unwrapped nil, an out-of-range index,
/// `fatalError`) stops, and which workers share the application's memory:
/// Swift cannot catch a trap inside a process.
public enum Isolation: String, Sendable, CaseIterable {
    /// The default: every worker thread in one worker process, under a
    /// small supervisor that holds the listeners. The workers share that
    /// process's memory, so a `Mutex`, an actor, a cache or a WebSocket
    /// room means what it means in any Swift server. A trap ends the
    /// process (the requests in flight on every worker are lost); the
    /// supervisor starts it again within milliseconds, and connections
    /// that arrive meanwhile wait in the listeners' queues.
    case sharedProcess = "shared-process"
    /// One process per worker, under the supervisor: a trap ends one
    /// worker while the others serve, but each worker has its own memory,
    /// so in-memory state (a counter, a cache, a room) is per worker. For
    /// stateless services whose state lives in a database.
    case processPerWorker = "process-per-worker"
    /// Worker threads in the calling process, without a supervisor: a trap
    /// ends the whole server. For tests and embedding (``Server/start(_:)``).
    case threads

    /// One process per worker: the name before ``sharedProcess`` became the default.
    @available(*, deprecated, renamed: "processPerWorker")
    public static var processes: Isolation { .processPerWorker }

    /// Whether a supervisor runs worker processes (both modes but ``threads``).
    var supervised: Bool { self != .threads }
}

/// A server configuration that failed validation, with a readable reason.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, e.g. "max_headers is 0; between 1 and 65536".
    public let description: String
}

/// Everything a Chopin server can be told: where to listen, how many
/// workers, which backend, and every limit and timeout. The defaults are
/// those of the C core (see the README's table).
///
/// ```swift
/// var config = Configuration(host: "127.0.0.1", port: 8080)
/// config.workers = 4
/// try config.validate()
/// ```
public struct Configuration: Sendable {
    /// The address to listen on: an IPv4 or IPv6 literal ("0.0.0.0", "::").
    public var host: String
    /// The TCP port; 0 picks a free one (``RunningServer`` says which).
    public var port: UInt16
    /// 0: one worker per CPU the process may run on.
    public var workers: UInt32
    /// The event loop each worker runs (``Backend/auto`` by default); `CHOPIN_BACKEND` overrides it.
    public var backend: Backend
    /// One supervised worker process for every worker (the default), a
    /// process per worker, or threads without a supervisor; only
    /// ``Server/serve(_:)`` and ``ChopinService`` start processes,
    /// ``Server/start(_:)`` always runs threads.
    public var isolation: Isolation
    /// Pins worker i to the i-th CPU the process may run on.
    public var pinWorkers: Bool
    /// Open connections per worker; at the cap, accepting pauses until one closes. Default 16384.
    public var maxConnectionsPerWorker: UInt32
    /// Bytes of the request line; over it, 414 and close. Default 8 KiB.
    public var maxRequestLine: UInt32
    /// Bytes of the request line and headers; over it, 431 and close. Default 16 KiB.
    public var maxHeadBytes: UInt32
    /// Header fields per request; over it, 431 and close. Default 100.
    public var maxHeaders: UInt32
    /// Bytes of a request body; over it, 413 (as soon as Content-Length says so) and close. Default 1 MiB.
    public var maxBody: UInt64
    /// Bytes of a body read as a ``RequestBodyStream`` (routes that take
    /// one); over it 413. Default 1 GiB.
    public var maxStreamedBodyBytes: UInt64
    /// Response bytes queued for a client that does not read; past it, reads pause. Default 256 KiB.
    public var maxPendingOutput: UInt32
    /// Requests of one connection handled per loop turn; the rest wait for the next. Default 32.
    public var maxPipelined: UInt32
    /// io_uring: receive buffers per worker (a power of two) and their size.
    public var uringBuffers: UInt32
    /// The size of each io_uring receive buffer. Default 8 KiB.
    public var uringBufferSize: UInt32
    /// ``headerTimeout`` in milliseconds.
    public var headerTimeoutMilliseconds: UInt32
    /// ``bodyTimeout`` in milliseconds.
    public var bodyTimeoutMilliseconds: UInt32
    /// ``idleTimeout`` in milliseconds.
    public var idleTimeoutMilliseconds: UInt32
    /// ``writeTimeout`` in milliseconds.
    public var writeTimeoutMilliseconds: UInt32
    /// ``shutdownTimeout`` in milliseconds.
    public var shutdownTimeoutMilliseconds: UInt32
    /// ``workerStartTimeout`` in milliseconds.
    public var workerStartTimeoutMilliseconds: UInt32
    /// ``drainPeriod`` in milliseconds (0: none).
    public var drainMilliseconds: UInt32
    /// Lingering close: after an error response (a 413 to a client still
    /// sending its body, say), the server shuts down its write side and keeps
    /// reading and discarding for at most this long, so the client reads the
    /// response instead of a connection reset. 0 closes at once.
    public var lingerTimeoutMilliseconds: UInt32
    /// ...and for at most this many discarded bytes.
    public var maxLingerBytes: UInt32
    /// Async handlers running at once per worker; past it, requests wait
    /// unread (reads pause) until one ends. An open WebSocket stops counting
    /// once its upgrade is sent: WebSockets are bounded by
    /// ``maxConnectionsPerWorker`` instead.
    public var maxAsyncRequestsPerWorker: UInt32
    /// An async handler that has not answered by then is cancelled and the
    /// client gets 503.
    public var handlerTimeoutMilliseconds: UInt32
    /// The reverse proxies (addresses and CIDR ranges: `"10.0.0.0/8"`,
    /// `"127.0.0.1"`, `"fd00::/8"`) whose ``clientAddressHeader`` is
    /// believed: ``Request/clientAddress`` reads the client's address from
    /// it when the connection comes from one of them. Empty (the default):
    /// the client is the peer, and no header is ever read. An entry that is
    /// neither is a ``ConfigurationError`` at start.
    public var trustedProxies: [String] = []
    /// The header the ``trustedProxies`` append the client's address to:
    /// `X-Forwarded-For` by default, or RFC 7239's `Forwarded`. Name the one
    /// your proxy writes: a proxy that appends to one passes the other on as
    /// the client sent it, and the client could then choose its address.
    public var clientAddressHeader: ClientAddressHeader = .xForwardedFor
    /// HTTPS (``TLSConfiguration``): every connection speaks TLS first.
    /// nil, the default, is plain HTTP. ``Server/bind(_:tls:)`` sets it.
    public var tls: TLSConfiguration? = nil
    /// Durations set through the `Duration` properties that no millisecond
    /// count can hold (negative, or past `UInt32.max` ms), by property name:
    /// ``validate()`` reports them.
    var unrepresentableDurations: [String: Duration] = [:]

    /// - Parameters:
    ///   - host: an IPv4 or IPv6 address literal.
    ///   - port: 0 picks a free port.
    public init(host: String = "0.0.0.0", port: UInt16 = 8080) {
        var c = chopin_config()
        chopin_config_init(&c)
        self.host = host
        self.port = port
        workers = c.workers
        backend = .auto
        isolation = .sharedProcess
        pinWorkers = false
        maxConnectionsPerWorker = c.max_connections
        maxRequestLine = c.max_request_line
        maxHeadBytes = c.max_head_bytes
        maxHeaders = c.max_headers
        maxBody = c.max_body
        maxStreamedBodyBytes = c.max_streamed_body
        maxPendingOutput = c.max_pending_output
        maxPipelined = c.max_pipelined
        uringBuffers = c.uring_buffers
        uringBufferSize = c.uring_buffer_size
        headerTimeoutMilliseconds = c.header_timeout_ms
        bodyTimeoutMilliseconds = c.body_timeout_ms
        idleTimeoutMilliseconds = c.idle_timeout_ms
        writeTimeoutMilliseconds = c.write_timeout_ms
        shutdownTimeoutMilliseconds = c.shutdown_timeout_ms
        workerStartTimeoutMilliseconds = c.worker_start_timeout_ms
        drainMilliseconds = c.drain_ms
        lingerTimeoutMilliseconds = c.linger_timeout_ms
        maxLingerBytes = c.max_linger_bytes
        maxAsyncRequestsPerWorker = c.max_deferred
        handlerTimeoutMilliseconds = c.deferred_timeout_ms
    }

    /// Checks every field the way the C core will, and says what is wrong.
    public func validate() throws(ConfigurationError) {
        if let (name, value) = unrepresentableDurations.min(by: { $0.key < $1.key }) {
            throw ConfigurationError(
                description:
                    "\(name) is \(value); a timeout is between 0 and \(UInt32.max) ms (about 49.7 days)")
        }
        var message = [CChar](repeating: 0, count: 256)
        let rc = host.withCString { hostPointer in
            var c = cConfig(host: hostPointer)
            // Validation needs a handler to be present; the real one is set at serve time.
            c.handler = { _, _, _ in }
            return chopin_config_validate(&c, &message, message.count)
        }
        if rc != 0 {
            throw ConfigurationError(
                description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        _ = try TrustedProxies(trustedProxies, header: clientAddressHeader)
        if let tls {
            guard tls.handshakeTimeoutMilliseconds != nil else {
                throw ConfigurationError(
                    description: "tls.handshakeTimeout is \(tls.handshakeTimeout); between 1 and \(UInt32.max) ms")
            }
            guard tls.maxHandshakesPerWorker >= 1 else {
                throw ConfigurationError(description: "tls.maxHandshakesPerWorker must be at least 1")
            }
            _ = try TLSIdentity(tls)  // the files are there, and the key matches the certificate
        }
    }

    /// The C view of this configuration; `host` must outlive it.
    func cConfig(host hostPointer: UnsafePointer<CChar>) -> chopin_config {
        var c = chopin_config()
        chopin_config_init(&c)
        c.host = hostPointer
        c.port = port
        c.workers = workers
        switch backend {
        case .auto: c.backend = CHOPIN_BACKEND_AUTO
        case .uring: c.backend = CHOPIN_BACKEND_URING
        case .epoll: c.backend = CHOPIN_BACKEND_EPOLL
        }
        switch isolation {
        case .sharedProcess: c.isolation = CHOPIN_ISOLATION_SHARED_PROCESS
        case .processPerWorker: c.isolation = CHOPIN_ISOLATION_PROCESSES
        case .threads: c.isolation = CHOPIN_ISOLATION_THREADS
        }
        c.pin_workers = pinWorkers ? 1 : 0
        c.max_connections = maxConnectionsPerWorker
        c.max_request_line = maxRequestLine
        c.max_head_bytes = maxHeadBytes
        c.max_headers = maxHeaders
        c.max_body = maxBody
        c.max_streamed_body = maxStreamedBodyBytes
        c.max_pending_output = maxPendingOutput
        c.max_pipelined = maxPipelined
        c.uring_buffers = uringBuffers
        c.uring_buffer_size = uringBufferSize
        c.header_timeout_ms = headerTimeoutMilliseconds
        c.body_timeout_ms = bodyTimeoutMilliseconds
        c.idle_timeout_ms = idleTimeoutMilliseconds
        c.write_timeout_ms = writeTimeoutMilliseconds
        c.shutdown_timeout_ms = shutdownTimeoutMilliseconds
        c.worker_start_timeout_ms = workerStartTimeoutMilliseconds
        c.drain_ms = drainMilliseconds
        c.linger_timeout_ms = lingerTimeoutMilliseconds
        c.max_linger_bytes = maxLingerBytes
        c.max_deferred = maxAsyncRequestsPerWorker
        c.deferred_timeout_ms = handlerTimeoutMilliseconds
        if let tls {
            c.tls_handshake_timeout_ms = tls.handshakeTimeoutMilliseconds ?? c.tls_handshake_timeout_ms
            c.max_tls_handshakes = tls.maxHandshakesPerWorker
        }
        return c
    }
}
