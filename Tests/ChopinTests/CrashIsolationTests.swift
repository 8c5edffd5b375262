import Synchronization
import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

extension ExampleProcessTests {
    /// Worker processes under a supervisor, seen from outside: chopin-example
    /// with two worker processes, its `GET /crash` trapping on purpose. Its own
    /// serialized suite: it runs processes, not in-process workers, and a load
    /// test that wants the machine's two cores to itself.
    @Suite struct CrashIsolationTests {
        /// One `GET /crash`: an error for that client only (its connection
        /// closes with no answer), the worker replaced within 100 ms, one log
        /// line naming the signal, the worker and the route, and the restart
        /// counted in /metrics.
        @Test(arguments: ["epoll", "uring"]) func aTrapCostsOneConnectionAndTheWorkerIsBackWithin100ms(backend: String)
            throws
        {
            let server = try ExampleProcess(["--workers", "2", "--isolation", "process-per-worker", "--backend", backend])
            let restartsBefore = try server.metric("chopin_worker_restarts_total")
            // A keep-alive connection opened before the crash, to a worker that may or may not die.
            let before = try TestClient(port: server.port)
            #expect(try before.request("GET", "/plaintext").status == 200)

            #expect(throws: TestClient.Failure.self, "the crashing request gets no answer") {
                try TestClient(port: server.port).request("GET", "/crash")
            }
            // New connections right after the death: those the kernel hands to the
            // dead worker's listener wait there for its replacement.
            for _ in 0..<20 {
                #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
            }
            var restarts = try server.metric("chopin_worker_restarts_total")
            let deadline = ExampleProcess.nowMs() + 2000
            while restarts == restartsBefore && ExampleProcess.nowMs() < deadline {
                usleep(10_000)
                restarts = try server.metric("chopin_worker_restarts_total")
            }
            #expect(restarts == restartsBefore + 1)

            let log = server.stderrText()
            let deaths = log.split(separator: "\n").filter { $0.contains(" died of ") }
            try #require(deaths.count == 1, "one death logged once: \(log)")
            let death = String(deaths[0])
            #expect(death.contains("SIGILL") || death.contains("SIGTRAP"), "\(death)")
            #expect(death.contains("worker 0") || death.contains("worker 1"), "\(death)")
            #expect(death.contains("GET /crash"), "\(death)")
            #expect(death.contains("Unexpectedly found nil"), "Swift's fatal error: \(death)")
            let back = restartTimes(log)
            #expect(back.count == 1 && back.allSatisfy { $0 < 100 }, "replacement serving after \(back) ms")
            #expect(server.stop() == 0, "SIGTERM: a graceful stop, exit status 0")
        }

        /// A trap in an async handler, after an await and after another
        /// request's handler has run on the same worker: the death still names
        /// the async route.
        @Test func aTrapInAnAsyncHandlerIsLoggedWithItsRoute() throws {
            let server = try ExampleProcess(["--workers", "1", "--isolation", "process-per-worker"])
            let crashing = try TestClient(port: server.port)
            try crashing.send("GET /crash/async HTTP/1.1\r\nHost: test\r\n\r\n")
            // During its 20 ms sleep: a synchronous handler runs and clears its own record.
            #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
            #expect(throws: TestClient.Failure.self, "the trapping request gets no answer") { try crashing.read() }
            #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
            let log = server.stderrText()
            let deaths = log.split(separator: "\n").filter { $0.contains(" died of ") }
            #expect(deaths.count == 1 && deaths[0].contains("while handling GET /crash/async"), "\(log)")
            #expect(server.stop() == 0)
        }

        /// Two async handlers in flight on one worker: the one started first
        /// traps after the other started. The death names the one that
        /// trapped (its job was running), not the last one started.
        @Test func aTrapAmongAsyncHandlersNamesTheOneThatTrapped() throws {
            let server = try ExampleProcess(["--workers", "1", "--isolation", "process-per-worker"])
            let crashing = try TestClient(port: server.port)
            try crashing.send("GET /crash/async?ms=300 HTTP/1.1\r\nHost: test\r\n\r\n")
            usleep(50_000)  // started first, and awaiting
            let sleeping = try TestClient(port: server.port)
            try sleeping.send("GET /sleep?ms=5000 HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(throws: TestClient.Failure.self, "the trapping request gets no answer") { try crashing.read() }
            #expect(throws: TestClient.Failure.self, "the other died with the worker") { try sleeping.read() }
            // Logged once the replacement serves, which this request waits for.
            #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
            let (deaths, log) = server.deaths()
            try #require(deaths.count == 1, "\(log)")
            #expect(deaths[0].contains("while handling GET /crash/async (async, one of 2 in flight)"), "\(deaths[0])")
            #expect(!deaths[0].contains("/sleep"), "names the handler that did not trap: \(deaths[0])")
            #expect(server.stop() == 0)
        }

        @Test func aTrapInAWebSocketHandlerNamesItsRoute() throws {
            let server = try ExampleProcess(["--workers", "1", "--isolation", "process-per-worker"])
            let ws = try TestClient(port: server.port)
            #expect(try ws.upgrade("/crash/ws") == 101)
            try ws.sendFrame(0x1, Array("hello".utf8))
            #expect(throws: TestClient.Failure.self, "the connection dies with the worker") { try ws.readFrame() }
            #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
            let (deaths, log) = server.deaths()
            try #require(deaths.count == 1, "\(log)")
            #expect(deaths[0].contains("while handling GET /crash/ws (async"), "\(deaths[0])")
            #expect(server.stop() == 0)
        }

        /// The load test: 8 keep-alive connections loop `/plaintext`
        /// for 5 s while `/crash` is hit 20 times. A connection that was held by
        /// the dying worker sees it close (and is opened again, as any client
        /// with a connection pool does); no request other than the crashing
        /// ones fails, and new connections succeed throughout.
        /// Async, with its clients on threads of their own (``OwnThread``), so
        /// that for 5 s it holds no thread that other suites' in-process servers
        /// need to resume their handlers.
        @Test func twentyCrashesUnderLoadFailOnlyTheCrashingRequests() async throws {
            let server = try ExampleProcess(["--workers", "2", "--isolation", "process-per-worker"])
            let port = server.port
            let restartsBefore = try server.metric("chopin_worker_restarts_total")
            let running = Atomic<Bool>(true)
            let served = Atomic<Int>(0)
            let failures = Mutex<[String]>([])  // the first 20
            let lostAt = Mutex<[Int64]>([])  // when a kept connection was found closed
            let lostAgain = Mutex<[[Int64]]>([])  // when each attempt of a request lost more than once was
            let clients = (0..<8).map { _ in
                OwnThread {
                    var client: TestClient?
                    while running.load(ordering: .relaxed) {
                        usleep(1000)  // a client's pace, not a spin: the two CPUs also start replacements
                        // A connection the dying worker held (kept, or accepted just
                        // before the trap) closes with no answer: the same request
                        // again on a new connection, as a client's pool does. A retry
                        // may wait in a dead worker's queue for its replacement and
                        // meet the next crash there, so a request may be lost more than
                        // once, but each loss must have a crash of its own (checked below).
                        var losses: [Int64] = []
                        while true {
                            do {
                                let c = try client ?? TestClient(port: port)
                                client = c
                                let reply = try c.request("GET", "/plaintext")
                                if reply.status == 200 {
                                    served.add(1, ordering: .relaxed)
                                } else {
                                    failures.withLock { if $0.count < 20 { $0.append("status \(reply.status)") } }
                                }
                                break
                            } catch let error as TestClient.Failure where lostWithTheWorker(error) {
                                losses.append(ExampleProcess.nowMs())
                                lostAt.withLock { $0.append(losses[losses.count - 1]) }
                                client = nil
                                if losses.count == 4 {
                                    failures.withLock { if $0.count < 20 { $0.append("closed 4 times in a row at \(losses)") } }
                                    break
                                }
                            } catch {
                                failures.withLock { if $0.count < 20 { $0.append("\(error)") } }
                                client = nil
                                break
                            }
                        }
                        if losses.count > 1 { lostAgain.withLock { $0.append(losses) } }
                    }
                }
            }
            var crashedAt: [Int64] = []
            var crashesAnswered = 0
            let start = ExampleProcess.nowMs()
            for i in 0..<20 {
                let due = start + Int64(i) * 240
                if ExampleProcess.nowMs() < due { try await Task.sleep(for: .milliseconds(due - ExampleProcess.nowMs())) }
                crashedAt.append(ExampleProcess.nowMs())
                if (try? TestClient(port: port).request("GET", "/crash")) != nil { crashesAnswered += 1 }
            }
            let end = start + 5000
            if ExampleProcess.nowMs() < end { try await Task.sleep(for: .milliseconds(end - ExampleProcess.nowMs())) }
            running.store(false, ordering: .relaxed)
            for c in clients { c.join() }

            #expect(crashesAnswered == 0, "a trapping handler answers nothing")
            #expect(failures.withLock { $0 } == [], "requests other than the crashing ones that failed")
            #expect(served.load(ordering: .relaxed) > 1000, "requests served in 5 s")
            // A connection is lost only to a death: within 500 ms after a crash was sent.
            let unexplained = lostAt.withLock { $0 }.filter { t in !crashedAt.contains { t >= $0 && t - $0 < 500 } }
            #expect(unexplained == [], "connections lost with no crash just before (ms since start: \(crashedAt))")
            // A request lost n times was lost to n crashes: as many sent from 500 ms
            // before its first loss to its last.
            let lostToOneCrash = lostAgain.withLock { $0 }.filter { times in
                crashedAt.filter { $0 >= times[0] - 500 && $0 <= times[times.count - 1] }.count < times.count
            }
            #expect(lostToOneCrash == [], "requests lost more often than crashes came (ms; crashes at \(crashedAt))")
            // Each death closes the dead worker's connections only, never those of the other worker.
            #expect(lostAt.withLock { $0.count } < 20 * 8, "connections lost: every one at every crash")
            var restarts = try server.metric("chopin_worker_restarts_total")
            let deadline = ExampleProcess.nowMs() + 3000
            while restarts < restartsBefore + 20 && ExampleProcess.nowMs() < deadline {
                try await Task.sleep(for: .milliseconds(20))
                restarts = try server.metric("chopin_worker_restarts_total")
            }
            #expect(restarts == restartsBefore + 20)
            let log = server.stderrText()
            let back = restartTimes(log).sorted()
            #expect(back.count == 20, "\(log)")
            #expect(back.isEmpty || back[back.count / 2] < 100, "median ms from a death to its replacement serving: \(back)")
            #expect(server.stop() == 0, "SIGTERM after the crashes: exit status 0")
        }
    }
}

/// How a connection held by a worker that died ends: closed with no answer,
/// or reset (the kernel resets a socket closed with unread bytes).
private func lostWithTheWorker(_ error: TestClient.Failure) -> Bool {
    ["connection closed", "recv failed: \(ECONNRESET)", "send failed: \(ECONNRESET)", "send failed: \(EPIPE)"]
        .contains { error.description == $0 || error.description.hasPrefix($0 + ";") }
}

/// The supervisor's "worker N serving again (pid P), M ms after the death": every M.
private func restartTimes(_ log: String) -> [Int] {
    log.split(separator: "\n").compactMap { line -> Int? in
        guard let end = line.range(of: " ms after the death"), line.contains("serving again") else { return nil }
        return Int(line[..<end.lowerBound].split(separator: " ").last ?? "")
    }
}
