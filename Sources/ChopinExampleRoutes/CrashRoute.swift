import Chopin

/// `GET /crash` traps on purpose (a force-unwrapped nil), so that a user can
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
}
