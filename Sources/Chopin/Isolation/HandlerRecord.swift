internal import CChopinCore

/// Runs `body` with the request's method and route pattern recorded in the
/// worker's shared slot, so that the supervisor can name the route if the
/// handler traps and the worker process dies. A few stores per request.
@inline(__always)
func whileHandling<T>(
    _ request: UnsafePointer<chopin_request>, route pattern: String, _ response: ResponseWriter, _ body: () -> T
) -> T {
    let recorded = pattern.utf8.withContiguousStorageIfAvailable { bytes in
        bytes.withMemoryRebound(to: CChar.self) { response.recordHandling(request, route: $0) }
    }
    if recorded == nil {
        var copy = pattern
        copy.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { response.recordHandling(request, route: $0) }
        }
    }
    defer { response.recordHandled() }
    return body()
}
