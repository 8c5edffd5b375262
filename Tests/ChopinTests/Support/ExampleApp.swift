import ChopinExampleRoutes

@testable import Chopin

/// chopin-example's routes (from ChopinExampleRoutes, the very ones it
/// serves), plus what only the tests need.
func startExample(_ backend: Backend) throws -> RunningServer {
    let router = exampleRouter()
    // An HTTPError's status and message reach the client as they are.
    router.get("/teapot") { _ throws -> Response in throw HTTPError(418, "short and stout") }
    return try startServer(router, backend)
}

/// One worker on a free loopback port, so a test's requests share one loop.
func startServer(_ router: Router, _ backend: Backend = .epoll) throws -> RunningServer {
    var config = Configuration(host: "127.0.0.1", port: 0)
    config.drainMilliseconds = 0  // a test stops at once
    config.workers = 1
    config.backend = backend
    return try Server(configuration: config).start(router)
}
