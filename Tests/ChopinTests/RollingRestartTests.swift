import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ExampleProcessTests {
    /// SIGHUP to chopin-example under worker processes, with the executable
    /// replaced on disk by one that cannot start (a bad deploy): the roll fails
    /// at its first step and says so (log, counter, readiness body), the old
    /// workers serve on with 0 failed requests, and once the good executable is
    /// back a second SIGHUP replaces every worker. Both backends.
    @Suite struct RollingRestartTests {
        /// A program that fails as a bad build would: a fatal line, then exit 3.
        static let badBuild = "#!/bin/sh\necho 'Fatal error: this build cannot start (test)' >&2\nexit 3\n"

        @Test(arguments: [
            ("epoll", "process-per-worker"), ("uring", "process-per-worker"), ("epoll", "shared-process"),
            ("uring", "shared-process"),
        ])
        func aReplacementThatCannotStartFailsTheRoll(backend: String, isolation: String) throws {
            var template = Array("/tmp/chopin-roll.XXXXXX".utf8CString)
            let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            defer { _ = system("rm -rf '\(dir)'") }
            let binary = dir + "/chopin-example"
            try #require(system("cp '\(ExampleProcess.binary())' '\(binary)'") == 0)
            let server = try ExampleProcess(
                ["--workers", "2", "--isolation", isolation, "--backend", backend], binary: binary)

            // Clients on fresh connections the whole time: none may fail.
            let running = Atomic<Bool>(true)
            let served = Atomic<Int>(0)
            let failures = Mutex<[String]>([])
            let port = server.port
            let clients = (0..<4).map { _ in
                OwnThread {
                    while running.load(ordering: .relaxed) {
                        usleep(2000)
                        // Once more on a new connection when the first was closed
                        // unanswered (the test crashes a worker once, on purpose).
                        var reply: TestClient.Reply?
                        var lastError: (any Error)?
                        for _ in 0..<2 where reply == nil {
                            do { reply = try TestClient(port: port).request("GET", "/plaintext") } catch { lastError = error }
                        }
                        if let reply, reply.status == 200 {
                            served.add(1, ordering: .relaxed)
                        } else {
                            failures.withLock { $0.append(reply.map { "status \($0.status)" } ?? "\(lastError.map { "\($0)" } ?? "?")") }
                        }
                    }
                }
            }
            // Joined once: here at the end, or by the defer when a #require ends the test early.
            var joined = false
            func stopClients() {
                guard !joined else { return }
                joined = true
                running.store(false, ordering: .relaxed)
                for c in clients { c.join() }
            }
            defer { stopClients() }

            // The bad build in place of the executable (renamed over it: the
            // running file cannot be written), then SIGHUP.
            try Self.replace(binary, with: Self.badBuild)
            kill(server.pid, SIGHUP)
            let failedLine = try #require(server.waitForLine(containing: "rolling restart failed", ms: 15_000))
            #expect(failedLine.contains("exited with status 3"), "\(failedLine)")
            #expect(failedLine.contains("Fatal error: this build cannot start"), "\(failedLine)")
            #expect(failedLine.contains("0 of 2 workers replaced"), "\(failedLine)")
            #expect(try server.metric("chopin_rolling_restart_failures_total") == 1)
            #expect(try server.metric("chopin_worker_restarts_total") == 0, "a failed replacement is no restart")
            let ready = try TestClient(port: port).request("GET", "/ready")
            #expect(ready.status == 200 && ready.text == "ready; the last rolling restart failed at worker 0 (see the log)\n", "\(ready.text)")
            // No later worker was touched: nothing else was started.
            usleep(300_000)
            #expect(!server.stderrText().contains("rolling restart done"))
            // A worker that dies now is restarted from the build that served,
            // not from the one on disk that cannot start.
            _ = try? TestClient(port: port).request("GET", "/crash")
            let back = server.waitForLine(containing: "serving again", ms: 10_000)
            #expect(back != nil, "the crashed worker came back: \(server.stderrText().suffix(600))")

            // The good build back, and SIGHUP again: every worker is replaced.
            try #require(system("cp '\(ExampleProcess.binary())' '\(binary).good'") == 0)
            try #require(rename(binary + ".good", binary) == 0)
            kill(server.pid, SIGHUP)
            let doneLine = try #require(server.waitForLine(containing: "rolling restart done", ms: 30_000))
            #expect(doneLine.contains("2 workers replaced"), "\(doneLine)")
            let after = try TestClient(port: port).request("GET", "/ready")
            #expect(after.status == 200 && after.text == "ready\n", "\(after.text)")
            #expect(try server.metric("chopin_rolling_restart_failures_total") == 1)

            stopClients()
            let failed = failures.withLock { $0 }
            #expect(failed.isEmpty, "\(failed.count) failed requests, first: \(failed.prefix(3))")
            #expect(served.load(ordering: .relaxed) > 100)
            #expect(server.stop() == 0, "a clean stop on SIGTERM")
        }

        /// With worker threads there is nothing to replace: SIGHUP (systemd's
        /// ExecReload) is logged and the server serves on, where it used to end
        /// the process.
        @Test(arguments: ["epoll", "uring"]) func sighupWithWorkerThreadsIsHarmless(backend: String) throws {
            let server = try ExampleProcess(["--workers", "2", "--isolation", "threads", "--backend", backend])
            let c = try TestClient(port: server.port)
            #expect(try c.request("GET", "/plaintext").status == 200)
            kill(server.pid, SIGHUP)
            let line = server.waitForLine(containing: "SIGHUP", ms: 5000)
            #expect(line?.contains("nothing to reload") == true, "\(line ?? "no line")")
            #expect(try c.request("GET", "/plaintext").status == 200, "the same connection still served")
            #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
            #expect(server.stop() == 0, "a clean stop on SIGTERM")
        }

        /// Writes `text` as an executable next to `path`, then renames it over `path`.
        static func replace(_ path: String, with text: String) throws {
            let next = path + ".next"
            let fd = open(next, O_WRONLY | O_CREAT | O_TRUNC, 0o755)
            try #require(fd >= 0)
            _ = text.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            try #require(rename(next, path) == 0)
        }
    }
}

extension ExampleProcess {
    /// The first line of the log that contains `text`, waiting up to `ms`.
    func waitForLine(containing text: String, ms: Int64) -> String? {
        let deadline = Self.nowMs() + ms
        repeat {
            if let line = stderrText().split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            usleep(20_000)
        } while Self.nowMs() < deadline
        return nil
    }
}
