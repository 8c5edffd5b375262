#if canImport(Glibc)
    import Glibc
#endif

/// A thread of its own for a blocking wait (a server's stop, which lasts as
/// long as its slowest in-flight request): run there rather than on a
/// thread of Swift's concurrency pool or Dispatch's, which other tasks need.
enum DedicatedThread {
    /// Runs `body` on a new detached thread; falls back to the caller's
    /// thread when none can be created (the wait must happen either way).
    static func run(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        if rc == 0 {
            pthread_detach(thread)
        } else {
            box.takeRetainedValue().body()
        }
    }

    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
