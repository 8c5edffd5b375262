import ChopinExampleRoutes
import Synchronization
import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// Handlers cancelled so far (by a client leaving, the deadline, or a stop).
private let cancelledHandlers = Atomic<Int>(0)

/// The name of the thread running the caller ("chopin-w0" on a worker).
private func threadName() -> String {
    // /proc/thread-self/comm: pthread_getname_np is not imported from Glibc.
    guard let f = fopen("/proc/thread-self/comm", "r") else { return "?" }
    defer { fclose(f) }
    var name = [CChar](repeating: 0, count: 32)
    guard fgets(&name, Int32(name.count), f) != nil else { return "?" }
    return String(decoding: name.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private struct Nap: Decodable, Sendable { let ms: Int }
private struct Pieces: Decodable, Sendable {
    let count: Int
    let size: Int
}

private func asyncRouter() -> Router {
    let router = Router()
    router.get("/plaintext") { _ in .text("Hello, World!") }
    router.get("/sleep") { (_: Request, nap: Query<Nap>) async throws -> Response in
        try await Task.sleep(for: .milliseconds(nap.value.ms))
        return .text("slept \(nap.value.ms)")
    }
    router.get("/wait") { (_: Request) async -> Response in
        // Ten seconds unless cancelled: what a client leaving, the deadline or a stop must end.
        do {
            try await Task.sleep(for: .seconds(10))
        } catch {
            cancelledHandlers.add(1, ordering: .relaxed)
        }
        return .text("waited")
    }
    router.get("/where") { (_: Request) async throws -> Response in
        let before = threadName()
        try await Task.sleep(for: .milliseconds(5))
        let afterSleep = threadName()
        await Task.yield()
        return .text("\(before) \(afterSleep) \(threadName())")
    }
    router.get("/user/:id") { (req: Request, id: Path<Int>) async -> Response in
        .text("\(id.value) \(req.path) \(req.query) \(req.header("user-agent") ?? "-") \(req.headers.count)")
    }
    router.post("/echo") { (req: Request) async -> Response in .bytes(Array(req.body)) }
    router.get("/stream") { (_: Request, n: Query<Pieces>) async -> Response in
        // n.value.count pieces of n.value.size bytes.
        .stream(contentType: "application/octet-stream") { out in
            let piece = [UInt8](repeating: UInt8(ascii: "s"), count: n.value.size)
            for _ in 0..<n.value.count { try await out.write(piece) }
        }
    }
    router.get("/endless") { (_: Request) async -> Response in
        .stream { out in
            do {
                while true {
                    try await out.write("tick\n")
                    try await Task.sleep(for: .milliseconds(10))
                }
            } catch {
                cancelledHandlers.add(1, ordering: .relaxed)
                throw error
            }
        }
    }
    router.get("/teapot") { (_: Request) async throws -> Response in throw HTTPError(418, "short and stout") }
    return router
}

private func start(_ backend: Backend, _ change: (inout Configuration) -> Void = { _ in }) throws -> RunningServer {
    var config = Configuration(host: "127.0.0.1", port: 0)
    config.drainMilliseconds = 0  // a test stops at once
    config.workers = 1
    config.backend = backend
    change(&config)
    return try Server(configuration: config).start(asyncRouter())
}

private func millisecondsSince(_ start: ContinuousClock.Instant) -> Int {
    let d = ContinuousClock.now - start
    return Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
}

/// Waits up to `ms` for `condition`.
private func eventually(_ ms: Int, _ condition: () -> Bool) -> Bool {
    let start = ContinuousClock.now
    while millisecondsSince(start) < ms {
        if condition() { return true }
        usleep(5000)
    }
    return condition()
}

extension EndToEndTests {
    /// Async handlers over real sockets, on both backends. Nested in the
    /// serialized end-to-end suite: they run worker threads that allocate,
    /// which the zero-allocation test must not see.
    @Suite struct AsyncHandlers {
        @Test(arguments: backends) func answersThroughTheDeferredPathOnTheWorkerThread(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            #expect(try c.request("GET", "/where").text == "chopin-w0 chopin-w0 chopin-w0")
            let user = try c.request("GET", "/user/%31?x=1", headers: ["User-Agent": "t/1"])
            #expect(user.status == 200)
            #expect(user.text == "1 /user/%31 x=1 t/1 2")
            #expect(try c.request("POST", "/echo", body: "ping").text == "ping")
            let teapot = try c.request("GET", "/teapot")
            #expect(teapot.status == 418)
            #expect(teapot.text.contains("short and stout"))
            #expect(try c.request("GET", "/user/abc").status == 400)  // extraction fails before any task
            #expect(try c.request("HEAD", "/sleep?ms=1").status == 200)
            #expect(try c.request("GET", "/plaintext").text == "Hello, World!")
        }

        @Test(arguments: backends) func theExamplesAsyncRoutes(backend: Backend) throws {
            let server = try startExample(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let sync = try c.request("GET", "/json")
            let async = try c.request("GET", "/async/json")
            #expect(async.status == 200 && async.text == sync.text)
            #expect(async.header("Content-Type") == "application/json")
            #expect(try c.request("GET", "/sleep?ms=20").text == "slept 20")
            #expect(try c.request("GET", "/sleep?ms=20000").status == 400)
            #expect(try c.request("GET", "/sleep?ms=abc").status == 400)
            #expect(try c.request("GET", "/sleep").status == 400)
        }

        @Test(arguments: backends) func serverSentEvents(backend: Backend) throws {
            let server = try startExample(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            try c.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
            var arrivals: [Int] = []
            let t = ContinuousClock.now
            let reply: TestClient.Reply
            do {
                reply = try c.readStreamed { _ in arrivals.append(millisecondsSince(t)) }
            } catch {
                Issue.record("\(error); events so far at \(arrivals) ms")
                return
            }
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "text/event-stream")
            #expect(reply.header("Transfer-Encoding") == "chunked")
            #expect(reply.header("Cache-Control") == "no-cache")
            #expect(reply.text == "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\nid: 3\ndata: tick 3\n\n")
            #expect(arrivals.count == 3 && arrivals[2] - arrivals[0] >= 150, "events as they happen: \(arrivals)")
            #expect(try c.request("GET", "/plaintext").status == 200)  // the connection goes on
        }

        /// 100 MB streamed to a client reading at about 100 MB/s: the server
        /// holds at most about max_pending_output (256 KiB) at a time.
        @Test(arguments: backends) func aLargeStreamToASlowReaderHoldsBoundedMemory(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            try c.send("GET /stream?count=1600&size=65536 HTTP/1.1\r\nHost: t\r\n\r\n")
            var peak: UInt64 = 0
            var received = 0
            let reply = try c.readStreamed { size in
                received += size
                peak = max(peak, server.bufferBytes)
                if received % (1 << 20) < size { usleep(10_000) }  // ~10 ms per MB
            }
            #expect(reply.body.count == 1600 * 65536)
            #expect(peak < 2 << 20, "the server held \(peak) bytes at most")
        }

        @Test(arguments: backends) func anHTTP10StreamEndsWithTheClose(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            try c.send("GET /stream?count=3&size=10 HTTP/1.0\r\n\r\n")
            let reply = try c.readStreamed(untilClose: true)
            #expect(reply.header("Connection") == "close")
            #expect(reply.header("Transfer-Encoding") == nil)
            #expect(reply.body.count == 30)
        }

        @Test(arguments: backends) func aStreamWhoseClientLeavesEnds(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let before = cancelledHandlers.load(ordering: .relaxed)
            do {
                let c = try TestClient(port: server.port)
                try c.send("GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
                usleep(100_000)
            }
            #expect(eventually(2000) { cancelledHandlers.load(ordering: .relaxed) > before })
        }

        @Test(arguments: backends) func pipelinedRequestsStayInOrder(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            try c.send(
                "GET /sleep?ms=60 HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /sleep?ms=5 HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try c.read().text == "slept 60")
            #expect(try c.read().text == "Hello, World!")
            #expect(try c.read().text == "slept 5")
            #expect(try c.read().text == "Hello, World!")
        }

        /// The issue's bar: 1,000 handlers awaiting 100 ms each on one worker,
        /// all answered within a second, while /plaintext keeps answering.
        @Test(arguments: backends) func aThousandSleepersOnOneWorker(backend: Backend) async throws {
            let server = try start(backend)
            defer { server.stop() }
            let port = server.port
            let clients = try (0..<1000).map { _ in try TestClient(port: port) }
            let probe = Task.detached { () -> [Int] in
                // /plaintext on its own connection while the sleepers wait.
                guard let c = try? TestClient(port: port) else { return [] }
                var latencies: [Int] = []
                let start = ContinuousClock.now
                while millisecondsSince(start) < 400 {
                    let t = ContinuousClock.now
                    guard (try? c.request("GET", "/plaintext").status) == 200 else { return [] }
                    latencies.append(millisecondsSince(t))
                }
                return latencies
            }
            let start = ContinuousClock.now
            for c in clients { try c.send("GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n") }
            var answered = 0
            for c in clients where try c.read().text == "slept 100" { answered += 1 }
            let took = millisecondsSince(start)
            #expect(answered == 1000)
            #expect(took < 1000, "1000 sleepers took \(took) ms")
            let latencies = await probe.value.sorted()
            #expect(latencies.count > 10, "plaintext answered \(latencies.count) times meanwhile")
            let p99 = latencies.isEmpty ? Int.max : latencies[latencies.count * 99 / 100]
            #expect(p99 < 50, "plaintext p99 \(p99) ms meanwhile")
        }

        @Test(arguments: backends) func aClientThatLeavesCancelsItsHandler(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let before = cancelledHandlers.load(ordering: .relaxed)
            do {
                let c = try TestClient(port: server.port)
                try c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
                usleep(100_000)
            }  // closed here
            #expect(eventually(2000) { cancelledHandlers.load(ordering: .relaxed) > before })
            let c = try TestClient(port: server.port)
            #expect(try c.request("GET", "/plaintext").status == 200)
        }

        @Test(arguments: backends) func pastTheHandlerDeadlineThe503(backend: Backend) throws {
            let server = try start(backend) { $0.handlerTimeoutMilliseconds = 200 }
            defer { server.stop() }
            let before = cancelledHandlers.load(ordering: .relaxed)
            let c = try TestClient(port: server.port)
            let t = ContinuousClock.now
            let reply = try c.request("GET", "/wait")
            let took = millisecondsSince(t)
            #expect(reply.status == 503)
            #expect(took >= 150 && took < 1500, "503 after \(took) ms")
            #expect(eventually(2000) { cancelledHandlers.load(ordering: .relaxed) > before })
            #expect(try c.request("GET", "/plaintext").status == 200)  // the connection goes on
        }

        @Test(arguments: backends) func pastTheInFlightCapRequestsWait(backend: Backend) throws {
            let server = try start(backend) { $0.maxAsyncRequestsPerWorker = 2 }
            defer { server.stop() }
            let clients = try (0..<3).map { _ in try TestClient(port: server.port) }
            let t = ContinuousClock.now
            for c in clients { try c.send("GET /sleep?ms=600 HTTP/1.1\r\nHost: t\r\n\r\n") }
            // Each answer timed as it arrives, on a thread per client: read
            // one after another, the one that waited held up the reads of
            // the others when it came first (all three then read 1200).
            let finished = Mutex<[Int]>([])
            let readers = clients.map { client in
                // Each client is read by its own thread only.
                nonisolated(unsafe) let c = client
                return OwnThread {
                    let text = (try? c.read().text) ?? "no answer"
                    let at = millisecondsSince(t)
                    finished.withLock { $0.append(text == "slept 600" ? at : -1) }
                }
            }
            for r in readers { r.join() }
            let done = finished.withLock { $0 }.sorted()
            #expect(!done.contains(-1), "every client got its answer: \(done)")
            // Differences, not absolute times: a loaded machine delays all
            // three alike. The first two end together; the third a whole
            // sleep later, having waited for one of them.
            #expect(done[1] - done[0] < 400, "two ran at once: \(done)")
            #expect(done[2] - done[0] >= 450, "the third waited for one of them: \(done)")
        }

        @Test(arguments: backends) func aStopWaitsForHandlersThenCancelsThem(backend: Backend) throws {
            let server = try start(backend) { $0.shutdownTimeoutMilliseconds = 300 }
            let before = cancelledHandlers.load(ordering: .relaxed)
            let long = try (0..<100).map { _ in try TestClient(port: server.port) }
            let short = try (0..<20).map { _ in try TestClient(port: server.port) }
            for c in long { try c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n") }
            for c in short { try c.send("GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n") }
            usleep(50_000)
            let t = ContinuousClock.now
            server.stop()
            let took = millisecondsSince(t)
            #expect(took >= 250 && took < 2000, "stopped after \(took) ms (deadline 300 ms)")
            for c in short {
                let reply = try c.read()
                #expect(reply.text == "slept 100")
                #expect(reply.header("Connection") == "close")
            }
            for c in long { #expect(throws: TestClient.Failure.self) { try c.read() } }
            #expect(eventually(2000) { cancelledHandlers.load(ordering: .relaxed) >= before + 100 })
        }
    }
}
