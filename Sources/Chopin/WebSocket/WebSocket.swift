internal import CChopinCore
import Synchronization

/// A WebSocket connection (RFC 6455), handed to a ``RouteRegistrar/webSocket(_:maxMessageBytes:subprotocols:_:)`` handler.
///
/// ```swift
/// router.webSocket("/ws") { ws in
///     for try await message in ws.messages { try await ws.send(message) }
/// }
/// ```
///
/// The handler runs as a task on the worker that owns the connection, like
/// an async handler. The server answers pings, checks every frame (client
/// masking, reserved bits, opcodes, control frame rules, UTF-8 for text)
/// and closes with the RFC's status code when the client breaks a rule;
/// messages over the handler's maximum are refused with 1009. When the
/// handler returns, the connection closes with 1000. A client silent for
/// ``Configuration/idleTimeoutMilliseconds`` gets a ping, and a close (1001)
/// after a second silent period.
///
/// Memory stays bounded with a slow handler or a slow client: reads pause
/// while more than ``highWater`` bytes of messages wait for the handler, and
/// ``send(_:)-(WebSocket.Message)`` suspends while more than ``Configuration/maxPendingOutput``
/// bytes wait for the client.
public struct WebSocket: Sendable {
    /// A whole message, its fragments joined.
    public enum Message: Sendable, Equatable {
        /// A text message (checked as UTF-8 by the server).
        case text(String)
        /// A binary message.
        case binary([UInt8])

        var byteCount: Int {
            switch self {
            case .text(let s): s.utf8.count
            case .binary(let b): b.count
            }
        }
    }

    /// The client broke the protocol; the server closed the connection with `code`
    /// (1002 protocol error, 1007 text that is not UTF-8, 1009 a message too big).
    public struct ProtocolError: Error, Sendable, Equatable {
        /// The close status code the server sent.
        public let code: UInt16
    }

    /// The connection is closed or closing: nothing more can be sent.
    public struct Closed: Error, Sendable {}

    /// A close frame: its status code and reason (RFC 6455 section 5.5.1).
    public struct CloseFrame: Sendable, Equatable {
        /// The status code: 1000 normal, 1001 going away, 3000-4999 an
        /// application's own; 1005 when the frame carried none.
        public let code: UInt16
        /// The reason, UTF-8 (the server checked it), up to 123 bytes; often empty.
        public let reason: String

        /// A close frame with `code` and `reason`.
        public init(code: UInt16, reason: String = "") {
            self.code = code
            self.reason = reason
        }

        /// The core's payload: the code (2 bytes, big-endian) and the reason, or nothing.
        init(payload: UnsafeRawBufferPointer) {
            guard payload.count >= 2 else {
                self.init(code: 1005)
                return
            }
            self.init(
                code: UInt16(payload[0]) << 8 | UInt16(payload[1]),
                reason: String(decoding: payload[2...], as: UTF8.self))
        }
    }

    /// What a ``RouteRegistrar/webSocket(_:maxMessageBytes:subprotocols:_:)``
    /// endpoint was registered with.
    struct Options: Sendable {
        let maxMessageBytes: Int
        let subprotocols: [String]

        /// Why the router refuses these options, or nil.
        var problem: String? {
            if maxMessageBytes <= 0 { return "maxMessageBytes must be positive (got \(maxMessageBytes))" }
            for name in subprotocols {
                let bytes = Array(name.utf8)
                if bytes.isEmpty || bytes.count > Int(CHOPIN_WS_PROTOCOL_MAX) || !bytes.allSatisfy(Method.isTokenByte) {
                    return "subprotocol '\(name)' must be a token of 1 to \(CHOPIN_WS_PROTOCOL_MAX) bytes"
                }
            }
            if Set(subprotocols).count != subprotocols.count { return "a subprotocol is listed twice" }
            return nil
        }
    }

    /// Bytes of messages that may wait for the handler before reads pause.
    public static let highWater = 1 << 20

    /// The upgrade request (method, path, headers, query).
    public let request: Request

    /// The subprotocol agreed in the handshake: the endpoint's first
    /// `subprotocols` entry that the client offered in
    /// `Sec-WebSocket-Protocol`, named in the 101; nil when none agreed
    /// (the 101 then names none, and a client that insisted closes).
    public let subprotocol: String?

    let deferral: Deferral
    let call: AsyncAnswer
    let channel: MessageChannel

    /// The client's messages, in order. Ends when the client closes (its
    /// code was echoed; ``clientClose`` says which); throws ``ProtocolError``
    /// when the client broke the protocol and `CancellationError` when the
    /// connection dropped. Iterate it once, inside the handler.
    public var messages: Messages { Messages(channel: channel) }

    /// The client's close frame (code and reason): set when it arrives, so
    /// always by the time ``messages`` ends because the client closed (a
    /// handler still taking queued messages may see it earlier); nil until
    /// then, and when the connection ended any other way.
    public var clientClose: CloseFrame? { channel.clientClose.withLock { $0 } }

    /// The messages as an async sequence.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = Message
        let channel: MessageChannel

        /// An iterator over the messages.
        public func makeAsyncIterator() -> Iterator { Iterator(channel: channel) }

        /// Reads the next message; nil once the client closed.
        public struct Iterator: AsyncIteratorProtocol {
            let channel: MessageChannel
            /// The next message, or nil after the client's close.
            public mutating func next() async throws -> Message? { try await channel.next() }
        }
    }

    /// Sends a message; suspends while the client is not reading. Throws
    /// ``Closed`` once the connection is closed or closing.
    public func send(_ message: Message) async throws {
        switch message {
        case .text(let text): try await send(text: text)
        case .binary(let bytes): try await send(bytes)
        }
    }

    /// Sends a text message.
    public func send(text: String) async throws {
        let rc = text.withUTF8Bytes { frame(CHOPIN_WS_TEXT, UnsafeRawBufferPointer($0)) }
        try await settle(rc)
    }

    /// Sends a binary message.
    public func send(_ bytes: [UInt8]) async throws {
        let rc = bytes.withUnsafeBytes { frame(CHOPIN_WS_BINARY, $0) }
        try await settle(rc)
    }

    /// Sends a ping (at most 125 bytes of payload); the server takes the pong.
    public func ping(_ payload: [UInt8] = []) async throws {
        let rc = payload.withUnsafeBytes { frame(CHOPIN_WS_PING, $0) }
        try await settle(rc)
    }

    /// Starts the close handshake with `code` (1000 by default, or 3000-4999
    /// for an application's own) and a short reason; the connection ends
    /// once the client answers. Nothing can be sent afterwards.
    public func close(code: UInt16 = 1000, reason: String = "") async throws {
        var payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        payload += Array(reason.utf8.prefix(123))
        let rc = payload.withUnsafeBytes { frame(CHOPIN_WS_CLOSE, $0) }
        try await settle(rc)
    }

    private func frame(_ opcode: Int, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        chopin_deferred_websocket_send(deferral.pointer, Int32(opcode), bytes.baseAddress, bytes.count)
    }

    private func settle(_ rc: Int32) async throws {
        if rc < 0 { throw Closed() }
        if rc == 1 { try await call.waitForDrain() }
    }
}

extension RouteRegistrar {
    /// Registers a WebSocket endpoint at `path` (GET with an RFC 6455
    /// upgrade; any other request to it gets 400, a version other than 13
    /// gets 426). `handler` runs for each connection, on the worker's
    /// executor; the connection closes (1000) when it returns.
    ///
    /// - `maxMessageBytes` limits one message, fragments joined (1009 past
    ///   it). It must be positive: the router refuses 0 or less
    ///   (``RouterError`` at start).
    /// - `subprotocols` lists the endpoint's subprotocols in its order of
    ///   preference: the first one the client offers is agreed, named in the
    ///   101 and in ``WebSocket/subprotocol``. None agreed: the 101 names
    ///   none (RFC 6455 section 4.2.2). Each must be a token of at most 64
    ///   bytes, listed once.
    public func webSocket(
        _ path: String, maxMessageBytes: Int = 1 << 20, subprotocols: [String] = [],
        _ handler: @escaping @Sendable (WebSocket) async throws -> Void
    ) {
        let options = WebSocket.Options(maxMessageBytes: maxMessageBytes, subprotocols: subprotocols)
        register(.get, path, RouteEndpoint(endpoint: .webSocket(options, handler)))
    }
}
