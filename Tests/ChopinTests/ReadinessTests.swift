import Dispatch
import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEndTests {
    /// `server.readinessHandler` and what a running server still says after
    /// its stop, over real sockets on both backends.
    @Suite struct ReadinessTests {
        private func server(_ backend: Backend) -> (Server, Router) {
            var config = Configuration(host: "127.0.0.1", port: 0)
            config.drainMilliseconds = 0  // a test stops at once
            config.workers = 1
            config.backend = backend
            let server = Server(configuration: config)
            let router = Router()
            router.get("/ready", server.readinessHandler)
            router.get("/plaintext") { _ in .text("Hello, World!") }
            return (server, router)
        }

        /// 200 while serving; once the stop begins, a connection the server
        /// still holds gets 503 (and Connection: close), so a balancer
        /// stops sending there before the connections close.
        @Test(arguments: backends) func answers503WhileTheServerDrains(backend: Backend) throws {
            let (server, router) = server(backend)
            let running = try server.start(router)
            let kept = try TestClient(port: running.port)
            let before = try kept.request("GET", "/ready")
            #expect(before.status == 200 && before.text == "ready\n")
            let stopped = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                running.stop()
                stopped.signal()
            }
            // The stop is under way once a new connection is refused (the
            // listener closes at once); kept idle connections get 500 ms.
            var waited = 0
            while (try? TestClient(port: running.port)) != nil && waited < 5000 {
                usleep(1000)
                waited += 1
            }
            let during = try kept.request("GET", "/ready")
            #expect(during.status == 503 && during.text == "draining\n")
            #expect(during.header("Connection") == "close")
            stopped.wait()
        }

        /// requestCount after stop() is the count at the stop, read from
        /// what stop() kept, not from the freed C server (which ASan would
        /// flag and which, without it, returned whatever the memory held).
        @Test(arguments: backends) func requestCountAfterStopIsTheCountAtTheStop(backend: Backend) throws {
            let (server, router) = server(backend)
            let running = try server.start(router)
            let client = try TestClient(port: running.port)
            for _ in 0..<5 { #expect(try client.request("GET", "/plaintext").status == 200) }
            #expect(running.requestCount == 5)
            running.stop()
            // Memory the server freed is reused by what comes next.
            let churn = (0..<1000).map { [UInt8](repeating: UInt8($0 & 0xff), count: 256 + $0) }
            #expect(churn.count == 1000)
            #expect(running.requestCount == 5)
        }
    }
}
