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

// An async handler's record is AsyncAnswer's (Async/AsyncAnswer.swift):
// begun when its response is deferred, ended by its task.
