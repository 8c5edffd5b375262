extension Server {
    /// A handler that answers with this server's counters and request-latency
    /// histogram in Prometheus' text format, one series per worker (label
    /// `worker`). Mount it where your scraper looks:
    ///
    /// ```swift
    /// let server = try Server.bind("0.0.0.0:8080")
    /// router.get("/metrics", server.prometheusHandler)
    /// try server.serve(router)
    /// ```
    /// It reads the workers' C counters directly (no locks on their side), so
    /// serving requests pays nothing for it; only a scrape costs.
    public var prometheusHandler: Handler {
        { [observation] ctx in observation.prometheus(ctx) }
    }
}
