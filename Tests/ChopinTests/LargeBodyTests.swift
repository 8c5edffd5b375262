import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEndTests {
    /// The largest body the limits allow (`maxBody` at its ceiling of
    /// 2 GiB, one byte past what an Int32 holds) reaches an async handler
    /// whole (its request is copied out of the connection, where sizes once
    /// were Int32 and trapped), on both backends; past the ceiling the
    /// configuration is refused at start. Both backends in one test, one
    /// after the other: each run holds about 4 GiB (the connection's buffer
    /// and the async request's own copy).
    @Suite struct LargeBodies {
        static let ceiling: UInt64 = 1 << 31

        @Test func aBodyAtTheCeilingReachesAnAsyncHandler() throws {
            for backend in backends {
                let router = Router()
                router.post("/async") { (req: Request) async in .text("\(req.body.count) \(req.body.last ?? 0)") }
                var config = Configuration(host: "127.0.0.1", port: 0)
                config.drainMilliseconds = 0  // a test stops at once
                config.workers = 1
                config.backend = backend
                config.maxBody = Self.ceiling
                config.bodyTimeoutMilliseconds = 60_000
                let server = try Server(configuration: config).start(router)
                defer { server.stop() }
                let c = try TestClient(port: server.port)
                try Self.post(c, "/async", bytes: Self.ceiling)
                let reply = try Self.readPatiently(c)
                #expect(reply.status == 200 && reply.text == "\(Self.ceiling) 7", "\(backend): \(reply.status) \(reply.text)")
            }
        }

        @Test func aLimitPastTheCeilingIsAConfigurationError() throws {
            var config = Configuration()
            config.maxBody = Self.ceiling + 1
            do {
                try config.validate()
                Issue.record("maxBody past 2 GiB was accepted")
            } catch {
                #expect(error.description.contains("max_body") && error.description.contains("2 GiB"), "\(error)")
            }
            config.maxBody = Self.ceiling
            try config.validate()
        }

        /// The answer, waiting up to a minute (a debug build copies 2 GiB slowly).
        private static func readPatiently(_ c: TestClient) throws -> TestClient.Reply {
            for _ in 0..<11 {
                if let reply = try? c.read() { return reply }
            }
            return try c.read()
        }

        /// A POST of `bytes` zero bytes ending in a 7, written in 1 MiB pieces.
        private static func post(_ c: TestClient, _ path: String, bytes: UInt64) throws {
            var head = Array("POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: \(bytes)\r\n\r\n".utf8)
            try c.send(&head)
            var piece = [UInt8](repeating: 0, count: 1 << 20)
            var left = bytes
            while left > 0 {
                let n = Int(min(left, UInt64(piece.count)))
                if left == UInt64(n) { piece[n - 1] = 7 }
                var off = 0
                while off < n {
                    let w = piece.withUnsafeBytes { Glibc.write(c.fd, $0.baseAddress! + off, n - off) }
                    guard w > 0 else { throw TestClient.Failure(description: "write failed: errno \(errno)") }
                    off += w
                }
                left -= UInt64(n)
            }
        }
    }
}
