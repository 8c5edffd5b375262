import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Chopin

extension EndToEndTests {
    /// `router.webSocket` in process, over real sockets on both backends:
    /// the handler's messages, sends, close codes and errors as a Swift user
    /// writes them. The protocol's corners (every Autobahn category) are
    /// covered against chopin-example by Tests/python/test_websocket.py and
    /// in the C core by Tests/c/test_websocket.c.
    @Suite struct WebSockets {
        /// What the /count handler saw when its messages ended.
        final class Seen: Sendable {
            let ended = Mutex<[String]>([])
        }

        private static func serve(_ backend: Backend, seen: Seen, maxAsync: UInt32 = 1024) throws -> RunningServer {
            let router = Router()
            router.webSocket("/echo") { ws in
                for try await message in ws.messages { try await ws.send(message) }
            }
            router.webSocket("/greet") { ws in
                try await ws.send(text: "hello \(ws.request.query)")
                try await ws.close(code: 4000, reason: "bye")
            }
            router.webSocket("/count", maxMessageBytes: 1000) { ws in
                var n = 0
                do {
                    for try await _ in ws.messages { n += 1 }
                    let close = ws.clientClose.map { "\($0.code) '\($0.reason)'" } ?? "none"
                    seen.ended.withLock { $0.append("closed after \(n) with \(close)") }
                } catch let e as WebSocket.ProtocolError {
                    seen.ended.withLock { $0.append("protocol error \(e.code) after \(n)") }
                }
            }
            router.webSocket("/chat", subprotocols: ["chat.v2", "chat.v1"]) { ws in
                try await ws.send(text: ws.subprotocol ?? "none")
            }
            router.get("/async") { (_: Request) async in .text("still served") }
            router.group("/guarded") { guarded in
                guarded.use(TicketCheck())
                guarded.webSocket("/echo", subprotocols: ["chat.v1"]) { ws in
                    try await ws.send(text: "welcome \(ws.request.storage[Ticket.self]?.holder ?? "nobody")")
                    for try await message in ws.messages { try await ws.send(message) }
                }
            }
            var config = Configuration(host: "127.0.0.1", port: 0)
            config.drainMilliseconds = 0  // a test stops at once
            config.workers = 1
            config.backend = backend
            config.maxAsyncRequestsPerWorker = maxAsync
            return try Server(configuration: config).start(router)
        }

        /// Who a ticket lets in.
        struct Ticket: Sendable { let holder: String }

        /// Checks the ticket in the query against a store it awaits (a
        /// sleep in its place), as an authentication middleware does before
        /// a WebSocket route.
        struct TicketCheck: Middleware {
            func handle(_ request: Request, next: Next) async throws -> Response {
                try await Task.sleep(for: .milliseconds(2))
                guard request.query == "ticket=ada" else {
                    throw HTTPError(.unauthorized, "no ticket", headers: [("WWW-Authenticate", "Ticket")])
                }
                var request = request
                request.storage[Ticket.self] = Ticket(holder: "ada")
                return try await next(request).header("X-Checked", "yes")
            }
        }

        private static func waitFor(_ seen: Seen, count: Int) -> [String] {
            for _ in 0..<200 {
                let ended = seen.ended.withLock { $0 }
                if ended.count >= count { return ended }
                usleep(10_000)
            }
            return seen.ended.withLock { $0 }
        }

        @Test(arguments: backends) func echoesTextBinaryAndLargeMessages(backend: Backend) throws {
            let server = try Self.serve(backend, seen: Seen())
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade("/echo") == 101)
            try c.sendFrame(0x1, Array("héllo".utf8))
            let text = try c.readFrame()
            #expect(text.opcode == 0x1 && text.payload == Array("héllo".utf8))
            let big = (0..<200_000).map { UInt8($0 % 251) }
            try c.sendFrame(0x2, big)
            let binary = try c.readFrame()
            #expect(binary.opcode == 0x2 && binary.payload == big)
            // Fragments come back joined; a ping between them is answered at once.
            try c.sendFrame(0x1, Array("one ".utf8), fin: false)
            try c.sendFrame(0x9, [7])
            try c.sendFrame(0x0, Array("two".utf8))
            #expect(try c.readFrame() == (0xA, [7]))
            #expect(try c.readFrame() == (0x1, Array("one two".utf8)))
            try c.sendFrame(0x8, [0x03, 0xE8])
            #expect(try c.readFrame() == (0x8, [0x03, 0xE8]))
        }

        @Test(arguments: backends) func theHandlerSendsFirstAndClosesWithItsCode(backend: Backend) throws {
            let server = try Self.serve(backend, seen: Seen())
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            #expect(try c.upgrade("/greet?name=ada") == 101)
            #expect(try c.readFrame() == (0x1, Array("hello name=ada".utf8)))
            let close = try c.readFrame()
            #expect(close.opcode == 0x8 && close.payload == [0x0F, 0xA0] + Array("bye".utf8))
        }

        @Test(arguments: backends) func theHandlerHearsTheCloseOrTheProtocolError(backend: Backend) throws {
            let seen = Seen()
            let server = try Self.serve(backend, seen: seen)
            defer { server.stop() }
            let polite = try TestClient(port: server.port)
            #expect(try polite.upgrade("/count") == 101)
            for _ in 0..<3 { try polite.sendFrame(0x2, [1, 2, 3]) }
            try polite.sendFrame(0x8, [0x0F, 0xA1] + Array("gone to lunch".utf8))  // 4001 and a reason
            #expect(try polite.readFrame() == (0x8, [0x0F, 0xA1]))
            #expect(Self.waitFor(seen, count: 1) == ["closed after 3 with 4001 'gone to lunch'"])
            // A close without a code is heard as 1005, with no reason.
            let terse = try TestClient(port: server.port)
            #expect(try terse.upgrade("/count") == 101)
            try terse.sendFrame(0x8, [])
            #expect(try terse.readFrame().opcode == 0x8)
            #expect(Self.waitFor(seen, count: 2).last == "closed after 0 with 1005 ''")
            // Unmasked: 1002. Over maxMessageBytes: 1009.
            let rude = try TestClient(port: server.port)
            #expect(try rude.upgrade("/count") == 101)
            try rude.sendFrame(0x2, [1], masked: false)
            #expect(try rude.readFrame() == (0x8, [0x03, 0xEA]))
            let big = try TestClient(port: server.port)
            #expect(try big.upgrade("/count") == 101)
            try big.sendFrame(0x2, [UInt8](repeating: 0, count: 1001))
            #expect(try big.readFrame() == (0x8, [0x03, 0xF1]))
            let ended = Self.waitFor(seen, count: 4)
            #expect(ended.count == 4 && ended.contains("protocol error 1002 after 0") && ended.contains("protocol error 1009 after 0"))
        }

        /// The endpoint's first subprotocol the client offers is agreed and
        /// named in the 101; none agreed means no header (RFC 6455 section 4.2.2).
        @Test(arguments: backends) func subprotocolsAreNegotiated(backend: Backend) throws {
            let server = try Self.serve(backend, seen: Seen())
            defer { server.stop() }
            let cases: [([String], String?)] = [
                (["Sec-WebSocket-Protocol: chat.v1, chat.v2"], "chat.v2"),  // the server's preference
                (["Sec-WebSocket-Protocol: mqtt", "Sec-WebSocket-Protocol: chat.v1"], "chat.v1"),  // any field
                (["Sec-WebSocket-Protocol: mqtt, CHAT.V1"], nil),  // names are case-sensitive
                ([], nil),
            ]
            for (offer, agreed) in cases {
                let c = try TestClient(port: server.port)
                let head = try c.upgradeReply("/chat", extra: offer)
                #expect(head.status == 101)
                #expect(head.header("Sec-WebSocket-Protocol") == agreed, "\(offer)")
                #expect(try c.readFrame() == (0x1, Array((agreed ?? "none").utf8)), "\(offer)")
            }
        }

        /// A limit that is not positive (the core's 0 is "no limit") and a
        /// subprotocol that could not be named in a header are refused at start.
        @Test(arguments: backends) func aMiddlewareThatAwaitsGuardsTheUpgrade(backend: Backend) throws {
            let server = try Self.serve(backend, seen: Seen())
            defer { server.stop() }
            // Without a ticket: the middleware's 401, and no upgrade.
            let refused = try TestClient(port: server.port)
            let no = try refused.upgradeReply("/guarded/echo")
            #expect(no.status == 401)
            #expect(no.headers.contains { $0.0.lowercased() == "www-authenticate" && $0.1 == "Ticket" })
            // With one: upgraded once the middleware's await is over, the
            // ticket in the handler's request, and a frame sent right behind
            // the upgrade (before the 101 came) taken as a frame.
            let c = try TestClient(port: server.port)
            var frame = TestClient.frame(0x1, Array("early".utf8))
            try c.send(
                "GET /guarded/echo?ticket=ada HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Protocol: chat.v1\r\n\r\n")
            try c.send(&frame)
            let yes = try c.readHead()
            #expect(yes.status == 101)
            #expect(yes.headers.contains { $0.0.lowercased() == "sec-websocket-protocol" && $0.1 == "chat.v1" })
            #expect(try c.readFrame() == (0x1, Array("welcome ada".utf8)))
            #expect(try c.readFrame() == (0x1, Array("early".utf8)))
            try c.sendFrame(0x1, Array("later".utf8))
            #expect(try c.readFrame() == (0x1, Array("later".utf8)))
            try c.sendFrame(0x8, [0x03, 0xE8])
            #expect(try c.readFrame() == (0x8, [0x03, 0xE8]))
            // A bad upgrade behind it is the endpoint's 400, through the middleware.
            let bad = try TestClient(port: server.port)
            try bad.send("GET /guarded/echo?ticket=ada HTTP/1.1\r\nHost: test\r\n\r\n")
            let plain = try bad.readHead()
            #expect(plain.status == 400)
            #expect(plain.headers.contains { $0.0 == "X-Checked" && $0.1 == "yes" })
        }

        @Test func badWebSocketOptionsAreRouterErrors() throws {
            for (max, names) in [(0, []), (-1, []), (10, ["two words"]), (10, [""]), (10, ["a", "a"]),
                                 (10, [String(repeating: "p", count: 65)])] as [(Int, [String])] {
                let router = Router()
                router.webSocket("/ws", maxMessageBytes: max, subprotocols: names) { _ in }
                #expect(throws: RouterError.self, "\(max) \(names)") { try router.freeze() }
            }
            let fine = Router()
            fine.webSocket("/ws", maxMessageBytes: 1, subprotocols: [String(repeating: "p", count: 64)]) { _ in }
            _ = try fine.freeze()
        }

        @Test(arguments: backends) func openWebSocketsLeaveRoomForAsyncRequests(backend: Backend) throws {
            let server = try Self.serve(backend, seen: Seen(), maxAsync: 2)
            defer { server.stop() }
            var open: [TestClient] = []
            for _ in 0..<4 {
                let c = try TestClient(port: server.port)
                #expect(try c.upgrade("/echo") == 101)
                open.append(c)
            }
            let plain = try TestClient(port: server.port)
            let r = try plain.request("GET", "/async")
            #expect(r.status == 200 && r.text == "still served")
            for c in open {
                try c.sendFrame(0x1, Array("ok".utf8))
                #expect(try c.readFrame() == (0x1, Array("ok".utf8)))
            }
        }
    }
}
