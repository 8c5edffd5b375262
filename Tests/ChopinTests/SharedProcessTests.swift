import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ExampleProcessTests {
    /// The default isolation (one supervised worker process, a thread per
    /// worker), run as a new user runs it: chopin-example without an
    /// `--isolation` flag. In-memory state means one thing whichever worker
    /// answers, and a trap costs a restart of the process within
    /// milliseconds, with no connection refused meanwhile. Both backends.
    @Suite struct SharedProcessTests {
        /// The in-memory notes API (`POST /notes`, `GET /notes`, a `Mutex`
        /// in the example) over new connections spread across four workers:
        /// ids 1...40 each handed out once, and every `GET /notes` lists all
        /// 40. Under a process per worker the same requests give duplicate
        /// ids and a list that depends on the worker.
        @Test(arguments: ["epoll", "uring"]) func inMemoryStateIsOneWhicheverWorkerAnswers(backend: String) throws {
            let server = try ExampleProcess(["--workers", "4", "--backend", backend])
            let startup = server.waitForLine(containing: "listening on", ms: 5000) ?? ""
            #expect(startup.contains("4 worker threads in one supervised worker process"), "the mode: \(startup)")
            #expect(startup.contains("in-memory state is shared by every worker"), "\(startup)")
            var ids: [Int] = []
            for i in 1...40 {
                let reply = try TestClient(port: server.port).request(
                    "POST", "/notes", headers: ["Content-Type": "application/json"], body: #"{"text":"note \#(i)"}"#)
                #expect(reply.status == 201, "\(reply.text)")
                if let id = Self.ids(in: reply.text).first { ids.append(id) }
            }
            #expect(ids.sorted() == Array(1...40), "each id handed out once: \(ids.sorted())")
            for _ in 0..<12 {
                let list = try TestClient(port: server.port).request("GET", "/notes")
                #expect(list.status == 200)
                #expect(Self.ids(in: list.text) == Array(1...40), "one list whatever worker answers: \(list.text)")
            }
            // The connections did reach several workers (the kernel spreads
            // new connections over the workers' listeners).
            let workersThatAccepted = try server.metricValues("chopin_connections_accepted_total").filter { $0 > 0 }
            #expect(workersThatAccepted.count >= 2, "\(workersThatAccepted)")
            #expect(server.stop() == 0)
        }

        /// The notes store is bounded: a note over 1000 bytes is 413, the
        /// 1001st note 409, and a list of 1000 still comes back whole.
        @Test func theNotesStoreHasLimits() throws {
            let server = try ExampleProcess(["--workers", "2"])
            let c = try TestClient(port: server.port)
            let long = String(repeating: "x", count: 1001)
            #expect(try c.request("POST", "/notes", headers: ["Content-Type": "application/json"], body: #"{"text":"\#(long)"}"#).status == 413)
            for i in 1...1000 {
                let status = try c.request("POST", "/notes", headers: ["Content-Type": "application/json"], body: #"{"text":"\#(i)"}"#).status
                if status != 201 { Issue.record("note \(i): \(status)"); break }
            }
            let over = try c.request("POST", "/notes", headers: ["Content-Type": "application/json"], body: #"{"text":"one too many"}"#)
            #expect(over.status == 409 && over.text.contains("at most 1000 notes"), "\(over.text)")
            let all = Self.ids(in: try c.request("GET", "/notes").text)
            #expect(all == Array(1...1000), "\(all.count) notes listed, the last \(all.suffix(3))")
            #expect(server.stop() == 0)
        }

        /// A trap under the default: the trapping client's connection ends,
        /// the process is restarted (one restart counted, one log line naming
        /// the route and the worker thread), and new connections made from
        /// the trap on are all answered: they wait in the listeners' queues
        /// for the new process, none is refused.
        @Test(arguments: ["epoll", "uring"]) func aTrapRestartsTheProcessWithNoConnectionRefused(backend: String) throws {
            let server = try ExampleProcess(["--workers", "2", "--backend", backend])
            let port = server.port
            let notes = try TestClient(port: port)
            #expect(try notes.request("POST", "/notes", headers: ["Content-Type": "application/json"], body: #"{"text":"kept in memory"}"#).status == 201)
            let running = Atomic<Bool>(true)
            let answered = Atomic<Int>(0)
            let failures = Mutex<[String]>([])
            // New connections in a loop from before the trap to well after it.
            // One the dying process had accepted closes unanswered (what a
            // trap costs): sent again on a new connection, as a client pool
            // does. None may be refused, and the second try must succeed.
            let client = OwnThread {
                while running.load(ordering: .relaxed) {
                    var outcome = ""
                    for _ in 0..<2 where outcome != "200" {
                        do {
                            outcome = "\(try TestClient(port: port).request("GET", "/plaintext").status)"
                        } catch {
                            outcome = "\(error)"
                        }
                    }
                    if outcome == "200" { answered.add(1, ordering: .relaxed) } else {
                        failures.withLock { $0.append(outcome) }
                    }
                    usleep(1000)
                }
            }
            usleep(100_000)
            #expect(throws: TestClient.Failure.self, "the trapping request gets no answer") {
                try TestClient(port: port).request("GET", "/crash")
            }
            let back = server.waitForLine(containing: "serving again", ms: 5000)
            usleep(200_000)
            running.store(false, ordering: .relaxed)
            client.join()
            let failed = failures.withLock { $0 }
            #expect(failed.isEmpty, "new connections across the restart: \(failed.prefix(3))")
            #expect(answered.load(ordering: .relaxed) > 20)
            #expect(back?.contains("the worker process serving again") == true, "\(server.stderrText())")
            let (deaths, log) = server.deaths()
            try #require(deaths.count == 1, "\(log)")
            #expect(deaths[0].contains("the worker process (pid "), "\(deaths[0])")
            #expect(deaths[0].contains("handling GET /crash on worker "), "\(deaths[0])")
            #expect(try server.metric("chopin_worker_restarts_total") == 1, "one trap, one restart")
            // The trap cost the process's memory: that is what a trap costs under this mode.
            #expect(try TestClient(port: port).request("GET", "/notes").text == "[]")
            #expect(server.stop() == 0)
        }

        /// A second SIGTERM while the first one's graceful stop waits for a
        /// request in flight (a 5 s sleep): the supervisor exits at once and
        /// within a second no process of the server is left, the worker
        /// process with the request included (killed by the supervisor, or
        /// ended by the death signal its supervisor's exit sends, a second
        /// stop for it too).
        @Test(arguments: ["shared-process", "process-per-worker"])
        func aSecondSIGTERMEndsEveryProcessAtOnce(isolation: String) throws {
            let server = try ExampleProcess(["--workers", "2", "--isolation", isolation])
            let sleeper = try TestClient(port: server.port)
            try sleeper.send("GET /sleep?ms=5000 HTTP/1.1\r\nHost: test\r\n\r\n")
            usleep(200_000)
            kill(server.pid, SIGTERM)
            usleep(200_000)
            let secondAt = ExampleProcess.nowMs()
            kill(server.pid, SIGTERM)
            let status = server.exitStatus(waitingUpTo: 3000)
            #expect(status.map { ($0 >> 8) & 0xff } == 128 + SIGTERM, "exit status \(String(describing: status))")
            var groupGone = false
            while !groupGone && ExampleProcess.nowMs() < secondAt + 1000 {
                groupGone = Self.livingProcesses(inGroup: server.pid) == 0
                usleep(10_000)
            }
            #expect(groupGone, "worker processes still running a second after the second SIGTERM")
        }

        /// Processes of process group `group` that are not zombies (a dead
        /// worker whose supervisor is gone waits as a zombie for whoever
        /// adopted it, which here may never reap it).
        static func livingProcesses(inGroup group: pid_t) -> Int {
            guard let dir = opendir("/proc") else { return 0 }
            defer { closedir(dir) }
            var living = 0
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard Int32(name) != nil, let stat = wholeFile("/proc/\(name)/stat") else { continue }
                // pid (comm) state ppid pgrp ...: the fields after the last ')'.
                let text = String(decoding: stat, as: UTF8.self)
                guard let close = text.lastIndex(of: ")") else { continue }
                let fields = text[text.index(after: close)...].split(separator: " ")
                if fields.count > 3, Int32(fields[3]) == group, fields[0] != "Z" { living += 1 }
            }
            return living
        }

        /// The ids in a note or a list of notes, in order.
        static func ids(in json: String) -> [Int] {
            json.split(separator: #""id":"#).dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        }

    }
}
