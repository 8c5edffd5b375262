// The timeouts as `Duration`s. Each is the same setting as its
// `...Milliseconds` property (kept for existing code), read and written
// through it: a Duration is rounded up to a whole millisecond, so a
// timeout never fires before the time asked for.
extension Configuration {
    /// From a request's first byte to its last header; also how long a fresh
    /// connection may stay silent. Crossed: 408 if a request had begun, then
    /// close. Default 10 s.
    ///
    /// ```swift
    /// var config = Configuration(port: 8080)
    /// config.headerTimeout = .seconds(5)
    /// config.handlerTimeout = .milliseconds(1500)
    /// try config.validate()
    /// ```
    public var headerTimeout: Duration {
        get { .milliseconds(headerTimeoutMilliseconds) }
        set { setTimeout(newValue, "headerTimeout", \.headerTimeoutMilliseconds) }
    }

    /// From the end of the head to the body's last byte. Crossed: 408, close.
    /// Default 30 s.
    public var bodyTimeout: Duration {
        get { .milliseconds(bodyTimeoutMilliseconds) }
        set { setTimeout(newValue, "bodyTimeout", \.bodyTimeoutMilliseconds) }
    }

    /// A keep-alive connection with nothing to do. Crossed: close. Default 60 s.
    public var idleTimeout: Duration {
        get { .milliseconds(idleTimeoutMilliseconds) }
        set { setTimeout(newValue, "idleTimeout", \.idleTimeoutMilliseconds) }
    }

    /// A response that makes no progress (every byte the client takes
    /// restarts it). Crossed: close. Default 30 s.
    public var writeTimeout: Duration {
        get { .milliseconds(writeTimeoutMilliseconds) }
        set { setTimeout(newValue, "writeTimeout", \.writeTimeoutMilliseconds) }
    }

    /// How long a graceful stop waits for requests in flight before closing
    /// what remains. Default 10 s.
    public var shutdownTimeout: Duration {
        get { .milliseconds(shutdownTimeoutMilliseconds) }
        set { setTimeout(newValue, "shutdownTimeout", \.shutdownTimeoutMilliseconds) }
    }

    /// Before a stop (SIGTERM, SIGINT, ``RunningServer/stop()``, a
    /// `ChopinService`'s shutdown), how long the server keeps serving
    /// everything while ``Server/readinessHandler`` already answers 503:
    /// a load balancer's health checks take the instance out of rotation
    /// before its listeners close, so no client meets a refused connection.
    /// Then the graceful stop runs as usual. `.zero` stops at once.
    /// Default 3 s; make it at least the balancer's probe interval times
    /// its failure threshold.
    public var drainPeriod: Duration {
        get { .milliseconds(drainMilliseconds) }
        set { setTimeout(newValue, "drainPeriod", \.drainMilliseconds) }
    }

    /// With worker processes: how long a started worker process may take to
    /// serve. Past it, the server's start fails, or a rolling restart's
    /// replacement is killed and the roll stops there (the worker it was to
    /// replace serves on; see ``RollingRestartStatus``). Default 60 s.
    public var workerStartTimeout: Duration {
        get { .milliseconds(workerStartTimeoutMilliseconds) }
        set { setTimeout(newValue, "workerStartTimeout", \.workerStartTimeoutMilliseconds) }
    }

    /// Lingering close: how long the server keeps reading and dropping after
    /// an error response. `.zero` closes at once. Default 5 s.
    public var lingerTimeout: Duration {
        get { .milliseconds(lingerTimeoutMilliseconds) }
        set { setTimeout(newValue, "lingerTimeout", \.lingerTimeoutMilliseconds) }
    }

    /// An async handler that has not answered by then is cancelled and the
    /// client gets 503; a stream silent that long is cut. Default 30 s.
    public var handlerTimeout: Duration {
        get { .milliseconds(handlerTimeoutMilliseconds) }
        set { setTimeout(newValue, "handlerTimeout", \.handlerTimeoutMilliseconds) }
    }

    /// Stores `value` in whole milliseconds, rounded up; a value no `UInt32`
    /// count of milliseconds holds is kept aside for ``validate()`` to report.
    private mutating func setTimeout(
        _ value: Duration, _ name: String, _ field: WritableKeyPath<Configuration, UInt32>
    ) {
        if let ms = Configuration.wholeMilliseconds(value) {
            self[keyPath: field] = ms
            unrepresentableDurations[name] = nil
        } else {
            unrepresentableDurations[name] = value
        }
    }

    /// `value` in milliseconds, rounded up; nil when negative or past `UInt32.max`.
    static func wholeMilliseconds(_ value: Duration) -> UInt32? {
        let (seconds, attoseconds) = value.components
        guard seconds >= 0, attoseconds >= 0 else { return nil }
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let fraction = (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        let (total, overflowAdding) = whole.addingReportingOverflow(fraction)
        guard !overflow, !overflowAdding, let ms = UInt32(exactly: total) else { return nil }
        return ms
    }
}
