/// Who is told of an error a handler or middleware threw, as it becomes
/// its error answer (``ErrorReport``): bound by ``TracingMiddleware`` around
/// the rest of its chain, read only on the error path.
enum ThrownErrors {
    @TaskLocal static var observer: (@Sendable (any Error) -> Void)?
}
