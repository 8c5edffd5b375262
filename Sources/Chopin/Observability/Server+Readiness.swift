extension Server {
    /// A readiness probe for a load balancer or an orchestrator: `200 ready`
    /// while the server serves, `503 draining` once its graceful stop has
    /// begun, so that the balancer stops sending before connections close.
    ///
    /// ```swift
    /// let server = try Server.bind("0.0.0.0:8080")
    /// router.get("/ready", server.readinessHandler)
    /// server.serve(router)
    /// ```
    /// With worker processes each worker answers for itself: one draining in
    /// a rolling restart (SIGHUP) answers 503 on the connections it still
    /// holds while its replacement answers 200 on new ones.
    public var readinessHandler: Handler {
        { [observation] ctx in observation.readiness(ctx) }
    }

    /// How the last rolling restart of this server went (SIGHUP, worker
    /// processes), readable from the supervisor and from every worker while
    /// the server runs, through ``serve(_:)`` too (from a handler, say):
    /// `.none` before any, or when the server is not running.
    public var rollingRestart: RollingRestartStatus { observation.rollingRestart() }
}
