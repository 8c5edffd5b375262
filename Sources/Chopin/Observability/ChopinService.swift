import Dispatch
public import ServiceLifecycle

/// Runs a ``Server`` as a swift-service-lifecycle `Service`, next to the
/// other services of a `ServiceGroup` (a database client, say). The group's
/// graceful shutdown (SIGTERM, or `triggerGracefulShutdown()`) drains the
/// server: it stops accepting, lets in-flight requests finish, then `run()`
/// returns. Cancelling the group stops it the same way.
///
/// ```swift
/// let service = ChopinService(server, router: router)
/// let group = ServiceGroup(services: [service, database], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct ChopinService: Service {
    /// The server and what it serves.
    public let server: Server
    /// The routes the server answers.
    public let router: Router
    private let onStart: @Sendable (RunningServer) -> Void

    /// - Parameters:
    ///   - server: the server to run, as configured.
    ///   - router: what it serves.
    ///   - onStart: called once the server listens (with its bound
    ///     port, say, when the configuration asked for port 0).
    public init(_ server: Server, router: Router, onStart: @escaping @Sendable (RunningServer) -> Void = { _ in }) {
        self.server = server
        self.router = router
        self.onStart = onStart
    }

    /// Serves until the group shuts down gracefully or is cancelled, then
    /// drains the server; throws only when the server cannot start.
    public func run() async throws {
        let running = try server.start(router)
        onStart(running)
        // Returns on graceful shutdown, throws CancellationError on cancellation:
        // either way the server drains.
        try? await gracefulShutdown()
        // Draining blocks until every worker is done: not on a cooperative thread.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                running.stop()
                done.resume()
            }
        }
    }
}
