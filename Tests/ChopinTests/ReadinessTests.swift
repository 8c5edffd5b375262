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

        /// 200 while serving; once the stop begins, 503 at once, on a
        /// connection the server holds, while that connection and every
        /// other route are still served for the drain period: a balancer
        /// stops sending there before any connection closes.
        @Test(arguments: backends) func answers503WhileTheServerDrains(backend: Backend) throws {
            var (server, router) = server(backend)
            server.configuration.drainMilliseconds = 600
            let running = try server.start(router)
            let kept = try TestClient(port: running.port)
            let before = try kept.request("GET", "/ready")
            #expect(before.status == 200 && before.text == "ready\n")
            let stopped = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                running.stop()
                stopped.signal()
            }
            var during = before
            for _ in 0..<200 where during.status == 200 {
                usleep(2000)
                during = try kept.request("GET", "/ready")
            }
            #expect(during.status == 503 && during.text == "draining\n")
            #expect(during.header("Connection") != "close", "the drain keeps connections open")
            #expect(try kept.request("GET", "/plaintext").text == "Hello, World!", "still served while draining")
            #expect(try TestClient(port: running.port).request("GET", "/plaintext").status == 200, "and new ones too")
            stopped.wait()
        }

        /// requestCount after stop() is the count at the stop, read from
        /// what stop() kept, not from the freed C server (which ASan would
        /// flag and which, without it, returned whatever the memory held).
        /// Two stops at once: the one that came second waits for the first
        /// to end (its drain period included), then the port is closed.
        @Test(arguments: backends) func aSecondStopWaitsForTheFirst(backend: Backend) throws {
            var (server, router) = server(backend)
            server.configuration.drainMilliseconds = 400
            let running = try server.start(router)
            let port = running.port
            let t = ContinuousClock.now
            let first = OwnThread { running.stop() }
            // The second starts while the first drains (the readiness route says 503).
            var draining = false
            for _ in 0..<1000 where !draining {
                draining = (try? TestClient(port: port).request("GET", "/ready").status) == 503
                if !draining { usleep(1000) }
            }
            #expect(draining)
            running.stop()
            let elapsed = ContinuousClock.now - t
            #expect(elapsed >= .milliseconds(350), "the second stop returned after \(elapsed), before the drain ended")
            #expect(throws: (any Error).self, "nothing listens once stop() returned") { try TestClient(port: port) }
            first.join()
        }

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
