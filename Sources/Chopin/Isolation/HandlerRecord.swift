internal import CChopinCore

/// Runs `body` with the request's method and route pattern recorded in the
/// worker's shared slot, so that the supervisor can name the route if the
/// handler traps and the worker process dies. A few stores per request (the
/// name is copied only when it differs from the last one recorded).
@inline(__always)
func whileHandling<T>(
    _ request: UnsafePointer<chopin_request>, route: Route, _ response: ResponseWriter, _ body: () -> T
) -> T {
    response.recordHandling(request, route: UnsafeBufferPointer(route.patternBytes))
    defer { response.recordHandled() }
    return body()
}

/// An async handler's record, kept apart from the synchronous one: its code
/// runs between other requests' handlers, which clear theirs. Begun by the
/// synchronous part that starts the task, ended by the task (both on the
/// worker thread).
///
/// It is also the executor the task prefers: the worker's, with each job
/// queued under this record, so that the worker notes whose code it runs
/// (``WorkerExecutor/runTurn()``) and a worker that dies inside the task
/// names this route even when other async handlers started later. Child
/// tasks (`async let`, task groups) inherit the preference, and are named
/// with it.
final class AsyncHandlerRecord: TaskExecutor, @unchecked Sendable {
    // @unchecked: every property is a constant.
    let deferral: Deferral
    let executor: WorkerExecutor

    /// Records that `request`'s async handler for `route` runs from now on.
    init(_ deferral: Deferral, _ request: UnsafePointer<chopin_request>, route: String, on executor: WorkerExecutor) {
        self.deferral = deferral
        self.executor = executor
        let method = request.pointee.method_name
        route.withUTF8Bytes { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                chopin_deferred_handling_async(deferral.pointer, method.ptr, method.len, chars.baseAddress, chars.count)
            }
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        executor.enqueue(UnownedJob(job), for: self)
    }

    /// The task is done with its handler (before the deferral is finished).
    func end() { chopin_deferred_handled_async(deferral.pointer) }
}
