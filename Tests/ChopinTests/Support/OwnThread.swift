#if canImport(Glibc)
    import Glibc
#endif

/// Test code that blocks (socket reads, sleeps) for long, on a thread of its
/// own. Not on Dispatch's global queues: on Linux they are the threads of
/// Swift's global executor, through which the in-process servers' async
/// handlers resume from `Task.sleep`. A load test whose 8 clients held them
/// for 5 s stalled other suites' servers (an SSE test saw its second event
/// never come) and, once the test itself awaited a sleep, itself.
final class OwnThread {
    private let thread: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        var t = pthread_t()
        let arg = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(
            &t, nil,
            { arg in
                guard let arg else { return nil }
                Unmanaged<Body>.fromOpaque(arg).takeRetainedValue().run()
                return nil
            }, arg)
        precondition(rc == 0, "pthread_create: \(rc)")
        thread = t
    }

    /// Waits until the body has returned.
    func join() { pthread_join(thread, nil) }
}
