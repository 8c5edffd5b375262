import Chopin

/// `GET /crash` (and `GET /crash/async`, after an await, and the WebSocket
/// `GET /crash/ws`, at its first message) traps on purpose (a force-unwrapped nil), so that a user can
/// watch a worker process die and come back: the client sees its connection
/// close, the supervisor logs the death with the route and Swift's fatal
/// error, and `/metrics`' chopin_worker_restarts_total goes up. Under
/// `--isolation threads` it ends the whole server, which is the point.
func addCrashRoute(to router: Router) {
    router.get("/crash") { ctx in
        // A header no client sends: a nil the optimizer cannot see coming.
        let missing: String? = ctx.header("X-Chopin-Never-Sent")
        return .text(missing!)
    }
    // The same inside an async handler, after an await (20 ms, or ?ms=N):
    // the worker's record of what it was handling must still name this
    // route when it dies, even when other async handlers started meanwhile.
    router.get("/crash/async") { (req: Request, nap: Query<CrashNap>) async throws -> Response in
        let ms = nap.value.ms ?? 20
        guard (0...10_000).contains(ms) else { throw HTTPError(400, "ms must be between 0 and 10000") }
        try await Task.sleep(for: .milliseconds(ms))
        let missing: String? = req.header("X-Chopin-Never-Sent")
        return .text(missing!)
    }
    // And inside a WebSocket handler, once the first message came.
    router.webSocket("/crash/ws") { ws in
        for try await _ in ws.messages {
            let missing: String? = ws.request.header("X-Chopin-Never-Sent")
            try await ws.send(.text(missing!))
        }
    }
}

/// `GET /crash/async`'s query: how long it awaits before it traps.
struct CrashNap: Decodable, Sendable {
    let ms: Int?
}
