import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ExampleProcessTests {
    /// `ChopinService` in a swift-service-lifecycle `ServiceGroup`
    /// (`chopin-example --service-group`), under the configured isolation
    /// (the default: one supervised worker process): the group owns SIGTERM
    /// and SIGINT in the supervisor and in the worker process, SIGHUP is
    /// still a rolling restart, and a stop drains and finishes what is in
    /// flight. Both backends.
    @Suite struct ServiceGroupTests {
        @Test(arguments: ["epoll", "uring"]) func aServiceGroupRunsTheDefaultIsolation(backend: String) throws {
            let server = try ExampleProcess(
                ["--workers", "2", "--backend", backend, "--service-group", "--drain-ms", "1500"])
            let port = server.port
            let startup = server.waitForLine(containing: "listening on", ms: 5000) ?? ""
            #expect(startup.contains("2 worker threads in one supervised worker process"), "\(startup)")
            // One address space: a note kept through one connection is listed through every other.
            #expect(try TestClient(port: port).request("POST", "/notes", headers: ["Content-Type": "application/json"], body: #"{"text":"kept"}"#).status == 201)
            for _ in 0..<6 { #expect(try TestClient(port: port).request("GET", "/notes").text.contains("kept")) }

            // SIGHUP: a rolling restart, as under serve.
            kill(server.pid, SIGHUP)
            let rolled = server.waitForLine(containing: "rolling restart done", ms: 15_000)
            #expect(rolled?.contains("2 workers replaced") == true, "\(server.stderrText())")

            // SIGTERM with a request in flight: the drain (503 from /ready,
            // everything else served), then the request finishes and the
            // program exits 0.
            let answer = Mutex("none")
            let slow = OwnThread {
                let reply = try? TestClient(port: port).request("GET", "/sleep?ms=2000")
                answer.withLock { $0 = reply.map { "\($0.status) \($0.text)" } ?? "failed" }
            }
            usleep(150_000)
            kill(server.pid, SIGTERM)
            // The group's shutdown begins the drain: /ready says 503 within a
            // moment (polled, for a loaded machine), well before the drain ends.
            var ready = 200
            let until = ExampleProcess.nowMs() + 1000
            while ready != 503 && ExampleProcess.nowMs() < until {
                ready = (try? TestClient(port: port).request("GET", "/ready").status) ?? -1
                if ready != 503 { usleep(20_000) }
            }
            #expect(ready == 503, "the drain")
            #expect(try TestClient(port: port).request("GET", "/plaintext").status == 200, "served while draining")
            slow.join()
            #expect(answer.withLock { $0 } == "200 slept 2000", "the request in flight finished")
            let status = server.exitStatus(waitingUpTo: 10_000)
            #expect(status == 0, "exit status 0 (the raw wait status): \(String(describing: status))")
            #expect(!server.stderrText().contains("restarting it"), "no worker process restarted: \(server.stderrText())")
        }

        /// SIGHUP to the whole process group (a closed terminal, `kill -HUP
        /// -PGID`): the supervisor rolls the worker process once; the worker
        /// process, which the program left SIGHUP to, ignores it instead of
        /// ending with its requests in flight.
        @Test func aSIGHUPToTheProcessGroupRollsOnce() throws {
            let server = try ExampleProcess(["--workers", "2", "--service-group"])
            let port = server.port
            let answer = Mutex("none")
            let slow = OwnThread {
                let reply = try? TestClient(port: port).request("GET", "/sleep?ms=600")
                answer.withLock { $0 = reply.map { "\($0.status) \($0.text)" } ?? "failed" }
            }
            usleep(150_000)
            kill(-server.pid, SIGHUP)
            let done = server.waitForLine(containing: "rolling restart done", ms: 15_000)
            #expect(done?.contains("2 workers replaced") == true, "\(server.stderrText())")
            slow.join()
            #expect(answer.withLock { $0 } == "200 slept 600", "the request in flight finished")
            let log = server.stderrText()
            #expect(!log.contains(" died of ") && !log.contains("restarting it"), "\(log)")
            #expect(server.stop() == 0)
        }

        /// Ctrl-C in a terminal sends SIGINT to the whole process group: the
        /// supervisor's group stops the server; the worker process leaves it
        /// to the supervisor rather than ending on its own (which the
        /// supervisor would take for a death and restart).
        @Test func ctrlCStopsOnceWithoutARestart() throws {
            let server = try ExampleProcess(["--workers", "2", "--service-group", "--drain-ms", "300"])
            kill(-server.pid, SIGINT)
            let status = server.exitStatus(waitingUpTo: 10_000)
            #expect(status == 0, "exit status 0 (the raw wait status): \(String(describing: status))")
            let log = server.stderrText()
            #expect(log.contains("draining for 300 ms"), "\(log)")
            #expect(!log.contains("restarting it") && !log.contains("serving again"), "\(log)")
        }
    }
}
