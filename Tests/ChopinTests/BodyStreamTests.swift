import ChopinExampleRoutes
import Crypto
import Synchronization
import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// The status the last streamed body ended with, as its handler saw it.
private let lastBodyEnding = Mutex<String>("")

private func uploadRouter() -> Router {
    let router = exampleRouter()  // POST /upload: byte count and SHA-256
    router.post("/slow-upload") { (_: Request, body: RequestBodyStream) async throws -> Response in
        // A consumer much slower than loopback (about 80 MB/s at most):
        // reads must pause, not pile up.
        var bytes = 0
        for try await chunk in body {
            if bytes / (256 << 10) != (bytes + chunk.count) / (256 << 10) {
                try await Task.sleep(for: .milliseconds(3))
            }
            bytes += chunk.count
        }
        return .text("\(bytes)")
    }
    router.put("/files/:name") { (_: Request, body: RequestBodyStream, name: Path<String>) async throws -> Response in
        do {
            let all = try await body.collect(upTo: 1 << 20)
            lastBodyEnding.withLock { $0 = "end" }
            return .text("\(name.value): \(all.count)")
        } catch let e as HTTPError {
            lastBodyEnding.withLock { $0 = "\(e.status.code)" }
            throw e
        }
    }
    return router
}

private func start(_ backend: Backend, _ change: (inout Configuration) -> Void = { _ in }) throws -> RunningServer {
    var config = Configuration(host: "127.0.0.1", port: 0)
    config.drainMilliseconds = 0  // a test stops at once
    config.workers = 1
    config.backend = backend
    change(&config)
    return try Server(configuration: config).start(uploadRouter())
}

/// Resident memory of this process, from /proc/self/statm.
private func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0
    var resident = 0
    _ = withUnsafeMutablePointer(to: &size) { s in
        withUnsafeMutablePointer(to: &resident) { r in withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) } }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// An upload generated block by block (never held whole), its SHA-256
/// computed on the way, with the process's peak resident memory sampled.
private struct Upload {
    let size: Int
    var digest = ""
    var peakGrowth = 0

    init(size: Int) { self.size = size }

    /// Made once: the client must send faster than any consumer reads.
    private static let blocks: [[UInt8]] = (0..<17).map { index in
        (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ ($0 >> 8)) }
    }
    private static func block(_ index: Int) -> [UInt8] { blocks[index % blocks.count] }

    /// Sends the body as-is (Content-Length) or as chunks of uneven sizes.
    mutating func send(to c: TestClient, chunked: Bool) throws {
        var hasher = SHA256()
        let baseline = residentBytes()
        var sent = 0
        var index = 0
        while sent < size {
            var block = Self.block(index)
            if size - sent < block.count { block.removeLast(block.count - (size - sent)) }
            hasher.update(data: block)
            if chunked {
                // Two chunks per block, split unevenly.
                let cut = 1 + index % (block.count - 1)
                for part in [block[..<cut], block[cut...]] where !part.isEmpty {
                    var framed = Array(String(part.count, radix: 16).utf8) + [13, 10] + Array(part) + [13, 10]
                    try c.send(&framed)
                }
            } else {
                try c.send(&block)
            }
            sent += block.count
            index += 1
            if index % 16 == 0 { peakGrowth = max(peakGrowth, residentBytes() - baseline) }
        }
        if chunked { try c.send("0\r\n\r\n") }
        let digits = Array("0123456789abcdef".utf8)
        digest = String(decoding: hasher.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}

extension EndToEndTests {
    /// Request bodies read as a ``RequestBodyStream``, over real sockets on
    /// both backends: uploads many times max_body arrive whole in bounded
    /// memory, limits answer 413, and the connection goes on.
    @Suite struct StreamingRequestBodies {
        @Test(arguments: backends) func fiftyMegabytesThroughTheBodyStreamInBoundedMemory(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            var upload = Upload(size: 50_000_000)
            try c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(upload.size)\r\n\r\n")
            try upload.send(to: c, chunked: false)
            let reply = try c.read()
            #expect(reply.status == 200)
            #expect(reply.text == #"{"bytes":50000000,"sha256":"\#(upload.digest)"}"#)
            #expect(upload.peakGrowth < 12 << 20, "resident memory grew by \(upload.peakGrowth) bytes")
            // The connection goes on.
            try c.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try c.read().text == "Hello, World!")
        }

        @Test(arguments: backends) func aChunkedUploadWithARequestPipelinedBehindIt(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            var upload = Upload(size: 20_000_000)
            try c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            try upload.send(to: c, chunked: true)
            try c.send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            let reply = try c.read()
            #expect(reply.text == #"{"bytes":20000000,"sha256":"\#(upload.digest)"}"#)
            #expect(try c.read().text == "Hello, World!")
        }

        @Test(arguments: backends) func aSlowConsumerPausesReadsInsteadOfBuffering(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            var upload = Upload(size: 64_000_000)
            try c.send("POST /slow-upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(upload.size)\r\n\r\n")
            try upload.send(to: c, chunked: false)
            let reply = try c.read()
            #expect(reply.text == "64000000")
            #expect(upload.peakGrowth < 12 << 20, "resident memory grew by \(upload.peakGrowth) bytes")
        }

        @Test(arguments: backends) func smallEmptyAndWholeBodies(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            // Empty (no stream from the core), then head and body in one write.
            try c.send("PUT /files/a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            #expect(try c.read().text == "a: 0")
            try c.send("PUT /files/b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try c.read().text == "b: 5")
            try c.send("PUT /files/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            #expect(try c.read().text == "c: 3")
        }

        @Test(arguments: backends) func overTheLimitIs413(backend: Backend) throws {
            let server = try start(backend) { $0.maxStreamedBodyBytes = 4 << 20 }
            defer { server.stop() }
            // Said before the body when its length is known...
            let c = try TestClient(port: server.port)
            try c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: \((4 << 20) + 1)\r\n\r\n")
            #expect(try c.read().status == 413)
            // ...and where the chunks cross it, with the handler told so.
            let d = try TestClient(port: server.port)
            try d.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            var upload = Upload(size: 6 << 20)
            try? upload.send(to: d, chunked: true)  // the server may stop reading first
            let reply = try d.read()
            #expect(reply.status == 413)
            #expect(reply.header("Connection") == "close")
            // collect(upTo:) refuses past its own limit.
            let e = try TestClient(port: server.port)
            try e.send("PUT /files/big HTTP/1.1\r\nHost: t\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n")
            var big = [UInt8](repeating: 0x61, count: (1 << 20) + 1)
            try e.send(&big)
            #expect(try e.read().status == 413)
            #expect(lastBodyEnding.withLock { $0 } == "413")
        }

        @Test(arguments: backends) func badFramingMidBodyIs400AndTheHandlerHearsIt(backend: Backend) throws {
            let server = try start(backend)
            defer { server.stop() }
            lastBodyEnding.withLock { $0 = "" }
            let c = try TestClient(port: server.port)
            try c.send("PUT /files/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
            #expect(try c.read().status == 400)
            #expect(eventuallyTrue(2000) { lastBodyEnding.withLock { $0 } == "400" })
        }
    }
}

/// Waits up to `ms` for `condition`.
private func eventuallyTrue(_ ms: Int, _ condition: () -> Bool) -> Bool {
    for _ in 0..<(ms / 5) {
        if condition() { return true }
        usleep(5000)
    }
    return condition()
}
