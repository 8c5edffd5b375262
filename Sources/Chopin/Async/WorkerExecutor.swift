internal import CChopinCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The worker's event loop as a Swift executor: an async handler's task
/// prefers it, so its jobs run on the thread that owns the connection,
/// between the loop's I/O events (the C core's `worker_turn` hook), and a
/// handler that awaits nothing, or something that completes on the same
/// worker, never leaves that thread.
///
/// A job enqueued from another thread (a database client resuming a
/// continuation on its own threads, say) is queued and the loop is woken
/// through its own eventfd. Once the worker has ended, jobs still arriving
/// (cancelled handlers winding down) go to the global concurrent executor.
final class WorkerExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `worker` and `thread` never change; the queue is behind a Mutex.
    private let worker: OpaquePointer
    private let thread: pthread_t
    private let queue = Mutex(JobQueue())
    private let stopped = Atomic<Bool>(false)
    /// Jobs in `queue`, readable without its lock. The loop calls
    /// ``runTurn()`` only in turns after ``enqueue(_:for:)`` asked for one
    /// (`worker_turn_when_asked`): a turn of synchronous requests costs the C
    /// core one load and no call into Swift at all.
    private let queued = Atomic<Int>(0)
    /// Jobs of the turn under way; kept between turns so that its capacity is reused.
    private var running: [Queued] = []

    /// A job, and the async handler whose task it belongs to (nil for
    /// other tasks that prefer this executor: the hops of a body stream, say).
    struct Queued {
        let job: UnownedJob
        let handler: AsyncAnswer?
    }

    struct JobQueue: ~Copyable {
        var jobs: [Queued] = []
    }

    /// The server's trusted proxies, for the requests this worker answers
    /// (the one per-server setting a request reads from its worker).
    let proxies: TrustedProxies

    init(worker: OpaquePointer, proxies: TrustedProxies) {
        self.worker = worker
        self.proxies = proxies
        self.thread = pthread_self()
        running.reserveCapacity(64)
        queue.withLock { $0.jobs.reserveCapacity(64) }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(UnownedJob(job), for: nil)
    }

    /// Queues `job` of `handler`'s task (``AsyncAnswer`` forwards its jobs here).
    func enqueue(_ job: UnownedJob, for handler: AsyncAnswer?) {
        if stopped.load(ordering: .acquiring) {
            globalConcurrentExecutor.enqueue(job)
            return
        }
        queue.withLock {
            $0.jobs.append(Queued(job: job, handler: handler))
            queued.add(1, ordering: .releasing)
        }
        chopin_worker_ask_turn(worker)
        // On the worker's own thread the loop runs its turn before it sleeps
        // again; from anywhere else it must be woken.
        if pthread_equal(pthread_self(), thread) == 0 { chopin_worker_wake(worker) }
    }

    /// Runs the jobs queued so far (worker thread). Returns whether more
    /// arrived meanwhile, so that the loop polls instead of sleeping.
    ///
    /// Where the turn goes from one async handler's jobs to another's (or
    /// to none's), the worker's record says whose code runs now: a crash
    /// report names that handler. A few stores per switch, none for a turn
    /// without jobs (a synchronous request's).
    func runTurn() -> Bool {
        // A job queued by another thread after this load wakes the loop,
        // which then comes back here.
        if queued.load(ordering: .acquiring) == 0 { return false }
        queue.withLock {
            swap(&$0.jobs, &running)
            queued.store(0, ordering: .relaxed)
        }
        if running.isEmpty { return false }
        let me = asUnownedTaskExecutor()
        var current: AsyncAnswer? = nil
        for item in running {
            if item.handler !== current {
                current = item.handler
                chopin_worker_running_async(worker, current?.deferral.pointer)
            }
            // On the executor its task prefers, so that the runtime sees it
            // is already there and does not queue it again.
            item.job.runSynchronously(on: current?.asUnownedTaskExecutor() ?? me)
        }
        if current != nil { chopin_worker_running_async(worker, nil) }
        running.removeAll(keepingCapacity: true)
        return queued.load(ordering: .acquiring) != 0
    }

    /// The worker is ending: what is queued, and whatever comes later, runs
    /// on the global executor instead.
    func stop() {
        stopped.store(true, ordering: .releasing)
        let left = queue.withLock { q -> [Queued] in
            defer {
                q.jobs = []
                queued.store(0, ordering: .relaxed)
            }
            return q.jobs
        }
        for item in left { globalConcurrentExecutor.enqueue(item.job) }
    }
}

/// The C core's worker hooks: each worker gets its executor when it starts,
/// runs its jobs once per loop turn, and hands them off when it ends.
/// What a worker reads, once, from the server it serves (the core's handler context).
protocol ServerSettings: AnyObject {
    var proxies: TrustedProxies { get }
}

let workerStartHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UInt32) -> UnsafeMutableRawPointer? = {
    context, worker, _ in
    guard let worker else { return nil }
    let server = context.map { Unmanaged<AnyObject>.fromOpaque($0).takeUnretainedValue() } as? ServerSettings
    let proxies = server?.proxies ?? .none
    return Unmanaged.passRetained(WorkerExecutor(worker: worker, proxies: proxies)).toOpaque()
}

let workerTurnHook: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { state in
    guard let state else { return 0 }
    // Guaranteed, not retained: the worker holds its executor until workerStopHook releases it.
    return Unmanaged<WorkerExecutor>.fromOpaque(state)._withUnsafeGuaranteedRef { $0.runTurn() } ? 1 : 0
}

let workerStopHook: @convention(c) (UnsafeMutableRawPointer?) -> Void = { state in
    guard let state else { return }
    let executor = Unmanaged<WorkerExecutor>.fromOpaque(state)
    executor.takeUnretainedValue().stop()
    executor.release()
}
