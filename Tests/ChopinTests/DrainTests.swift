import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ExampleProcessTests {
    /// The drain period before a stop, as a load balancer sees it: chopin-example
    /// with `--drain-ms 800` gets SIGTERM while a prober asks `GET /ready` every
    /// 50 ms on new connections and clients send `/plaintext` on kept and new
    /// connections. The prober sees 503 before the first refused connection,
    /// and no request fails across the whole stop. Both backends, worker
    /// threads and worker processes.
    @Suite struct DrainTests {
        enum Probe: Equatable {
            case status(Int)
            case refused
        }

        @Test(arguments: [("epoll", "threads"), ("uring", "threads"), ("epoll", "process-per-worker"), ("uring", "process-per-worker"), ("epoll", "shared-process"), ("uring", "shared-process")])
        func readinessSays503BeforeTheListenersClose(backend: String, isolation: String) throws {
            let server = try ExampleProcess(
                ["--workers", "2", "--isolation", isolation, "--backend", backend, "--drain-ms", "800"])
            let port = server.port
            // Every worker up: one still starting answers 503 "starting".
            var readyInARow = 0
            for _ in 0..<200 where readyInARow < 6 {
                readyInARow = (try? TestClient(port: port).request("GET", "/ready").status) == 200 ? readyInARow + 1 : 0
                usleep(10_000)
            }
            let running = Atomic<Bool>(true)
            // Whatever happens, the clients give up after this (a stop that never ends fails, not hangs).
            let giveUpAt = ExampleProcess.nowMs() + 20_000
            let probes = Mutex<[(Int64, Probe)]>([])
            let prober = OwnThread {
                while running.load(ordering: .relaxed) && ExampleProcess.nowMs() < giveUpAt {
                    let probe: Probe
                    do {
                        probe = .status(try TestClient(port: port).request("GET", "/ready").status)
                    } catch {
                        probe = .refused
                    }
                    // When the answer came: one asked just before the signal may be answered after it.
                    probes.withLock { $0.append((ExampleProcess.nowMs(), probe)) }
                    if probe == .refused { return }
                    usleep(50_000)
                }
            }
            // Until the server refuses a connection: a request on a kept
            // connection that the stop closed before answering is sent again on
            // a new one (what any client pool does); what else goes wrong fails.
            let served = Atomic<Int>(0)
            let failures = Mutex<[String]>([])
            let drainEnds = Atomic<Int64>(Int64.max)
            let clients = (0..<4).map { i in
                OwnThread {
                    var kept: TestClient?
                    while running.load(ordering: .relaxed) && ExampleProcess.nowMs() < giveUpAt {
                        usleep(2000)
                        let fresh = i % 2 == 0 || kept == nil
                        do {
                            let c = try fresh ? TestClient(port: port) : kept!
                            if i % 2 == 1 { kept = c }
                            let reply = try c.request("GET", "/plaintext")
                            guard reply.status == 200 else {
                                failures.withLock { $0.append("status \(reply.status)") }
                                continue
                            }
                            served.add(1, ordering: .relaxed)
                            if reply.header("Connection") == "close" { kept = nil }
                        } catch let e as TestClient.Failure where e.description.hasPrefix("connect failed") {
                            return  // the listeners are closed: the stop is past its drain
                        } catch where fresh && ExampleProcess.nowMs() >= drainEnds.load(ordering: .relaxed) {
                            // Accepted by the kernel as the listeners closed, then reset
                            // with them: the same moment as a refused connect.
                            return
                        } catch {
                            if !fresh {
                                kept = nil  // closed while idle: again on a new connection
                                continue
                            }
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
            }
            usleep(300_000)
            let termAt = ExampleProcess.nowMs()
            drainEnds.store(termAt + 800, ordering: .relaxed)
            // To the whole process group, as systemd (KillMode=control-group)
            // and timeout(1) send it: the worker processes get it too, and
            // leave it to the supervisor, which drains before it stops them.
            kill(-server.pid, SIGTERM)
            // (A probe answered before termAt was answered before the signal.)
            prober.join()
            for c in clients { c.join() }
            running.store(false, ordering: .relaxed)
            let status = server.exitStatus(waitingUpTo: 10_000)  // the one SIGTERM's stop, to its end

            let seen = probes.withLock { $0 }
            let firstUnready = seen.first { $0.0 >= termAt && $0.1 == .status(503) }
            let firstRefused = seen.first { $0.1 == .refused }
            #expect(firstUnready != nil, "no 503 from /ready during the stop: \(seen.map(\.1))")
            #expect(firstRefused != nil, "the listeners never closed")
            if let unready = firstUnready, let refused = firstRefused {
                #expect(unready.0 < refused.0)
                #expect(refused.0 - termAt >= 600, "refused \(refused.0 - termAt) ms after SIGTERM, before the drain ended")
            }
            let before = seen.filter { $0.0 < termAt }.map(\.1)
            #expect(before.allSatisfy { $0 == .status(200) }, "ready before the stop: \(before)")
            let failed = failures.withLock { $0 }
            #expect(failed.isEmpty, "\(failed.count) failed: \(failed.prefix(3))")
            #expect(served.load(ordering: .relaxed) > 50)
            #expect(status == 0, "exit status \(status.map { "\($0)" } ?? "none: still running")")
            #expect(server.stderrText().contains("draining for 800 ms"))
            #expect(!server.stderrText().contains("restarting it"), "a worker stopped before the drain ended")
        }
    }
}
