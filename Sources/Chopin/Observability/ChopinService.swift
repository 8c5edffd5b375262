public import ServiceLifecycle

/// Runs a ``Server`` as a swift-service-lifecycle `Service`, next to the
/// other services of a `ServiceGroup` (a database client, say), with the
/// isolation its configuration asks for (one supervised worker process by
/// default, see ``Isolation``). The group's graceful shutdown (SIGTERM, or
/// `triggerGracefulShutdown()`) drains the server: the drain period, then
/// it stops accepting, lets in-flight requests finish, and `run()` returns.
/// Cancelling the group stops it the same way, without the drain period
/// (cancellation is the group's hurry).
///
/// ```swift
/// let service = ChopinService(server, router: router)
/// let group = ServiceGroup(services: [service, database], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// With worker processes the program as started is the supervisor, and
/// each worker process runs `main` again: the same group, the same
/// services, and this service's `run()` makes the process the worker
/// process. So the other services run in the supervisor and in each worker
/// process (a database pool is opened where the handlers use it). The
/// group owns SIGINT and SIGTERM in every process: list them in
/// `gracefulShutdownSignals` (the supervisor stops a worker process with
/// SIGTERM, which its group then shuts down gracefully; unlisted, the
/// signal ends the process at once). SIGHUP and SIGUSR2, unless the
/// program handles them, do what they do under ``Server/serve(_:)``: a
/// rolling restart of worker processes (with HTTPS, SIGHUP reloads the
/// certificate instead, with worker threads too), and with worker threads
/// and no TLS a logged line, the server serving on.
public struct ChopinService: Service {
    /// The server and what it serves.
    public let server: Server
    /// The routes the server answers.
    public let router: Router
    private let onStart: @Sendable (RunningServer) -> Void

    /// - Parameters:
    ///   - server: the server to run, as configured (its isolation included).
    ///   - router: what it serves.
    ///   - onStart: called once the server listens (with its bound
    ///     port, say, when the configuration asked for port 0).
    public init(_ server: Server, router: Router, onStart: @escaping @Sendable (RunningServer) -> Void = { _ in }) {
        self.server = server
        self.router = router
        self.onStart = onStart
    }

    /// Serves until the group shuts down gracefully or is cancelled, then
    /// drains and stops the server; throws only when the server cannot start.
    public func run() async throws {
        let running = try server.launch(router, isolation: server.configuration.isolation, leavingSignals: true)
        onStart(running)
        // Returns on graceful shutdown, throws CancellationError on cancellation:
        // either way the server drains.
        try? await gracefulShutdown()
        // The drain is a sleep of this task and the wait for in-flight
        // requests a thread of its own: no executor thread is held.
        await running.stopWithoutBlocking()
    }
}
