internal import CChopinCore
import Synchronization

extension Response {
    /// A response whose body is written piece by piece as `body` produces it:
    /// chunked for HTTP/1.1 clients, delimited by the close for HTTP/1.0.
    /// Only for async handlers. `write` suspends while the client is not
    /// reading (more than ``Configuration/maxPendingOutput`` queued), so a
    /// slow client costs bounded memory; it throws once the client is gone.
    ///
    /// ```swift
    /// router.get("/events") { (_: Request) async in
    ///     .stream(contentType: "text/event-stream") { out in
    ///         for i in 1...3 {
    ///             try await out.write("data: tick \(i)\n\n")
    ///             try await Task.sleep(for: .seconds(1))
    ///         }
    ///     }
    /// }
    /// ```
    /// A stream silent for ``Configuration/handlerTimeoutMilliseconds`` is cut.
    public static func stream(
        contentType: String = "application/octet-stream", status: HTTPStatus = .ok,
        _ body: @escaping @Sendable (ResponseStream) async throws -> Void
    ) -> Response {
        Response(status: status, contentType: contentType, body: .stream(body))
    }
}

/// Where a streamed response's pieces go (see ``Response/stream(contentType:status:_:)``).
public struct ResponseStream: Sendable {
    let deferral: Deferral
    let call: AsyncAnswer
    /// Counts what is written, for the observers of ``Response/whenBodyEnds(_:)``.
    let written = ByteCount()

    /// The client is gone (or the stream was written from outside its handler's task).
    public struct Closed: Error, Sendable {}

    /// Sends `bytes` as the next piece of the body.
    public func write(_ bytes: [UInt8]) async throws {
        let rc = bytes.withUnsafeBytes { chopin_deferred_stream_write(deferral.pointer, $0.baseAddress, $0.count) }
        if rc >= 0 { written.add(bytes.count) }
        try await settle(rc)
    }

    /// Sends `text` (UTF-8) as the next piece of the body.
    public func write(_ text: String) async throws {
        let rc = text.withUTF8Bytes { chopin_deferred_stream_write(deferral.pointer, $0.baseAddress, $0.count) }
        if rc >= 0 { written.add(text.utf8.count) }
        try await settle(rc)
    }

    private func settle(_ rc: Int32) async throws {
        if rc < 0 { throw Closed() }
        try Task.checkCancellation()
        if rc == 1 { try await call.waitForDrain() }
    }
}

extension AsyncAnswer {
    /// Suspends until the core says the client has read enough (its drain
    /// callback), or throws when the handler is cancelled meanwhile.
    func waitForDrain() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                drainWaiter.withLock { $0 = c }
                if Task.isCancelled { resumeDrainWaiter(throwing: CancellationError()) }
            }
        } onCancel: {
            resumeDrainWaiter(throwing: CancellationError())
        }
    }

    func resumeDrainWaiter(throwing error: (any Error)? = nil) {
        let waiter = drainWaiter.withLock { w -> CheckedContinuation<Void, any Error>? in
            defer { w = nil }
            return w
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume() }
    }
}

/// Bytes a stream has written so far (its task writes, observers read).
final class ByteCount: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    var total: Int { value.load(ordering: .relaxed) }
}

/// How an answer's body ended, for ``Response/whenBodyEnds(_:)``.
public struct BodyEnd: Sendable {
    /// The body's bytes as the server sent them (before compression); nil
    /// where the body was written in place (`req.json`, a file) and its
    /// size is the server's to know.
    public let bytes: Int?
    /// Why a stream ended early (the client left, its producer threw);
    /// nil when it ended as its producer meant.
    public let error: (any Error)?
}

extension Response {
    /// This answer, with `observer` called once its body has ended: for a
    /// stream, when its producer returns or throws (how many bytes it wrote,
    /// and why it stopped, if it did); for any other answer, at once, with
    /// its body's size. What an access log or a tracing span needs to say
    /// when a streamed answer really ended.
    ///
    /// ```swift
    /// func after(_ request: Request, response: inout Response) {
    ///     let start = request.storage[key: Started.self]
    ///     response = response.whenBodyEnds { end in record(start, end.bytes) }
    /// }
    /// ```
    public func whenBodyEnds(_ observer: @escaping @Sendable (BodyEnd) -> Void) -> Response {
        var copy = self
        switch body {
        case .stream(let produce):
            copy.body = .stream { out in
                do {
                    try await produce(out)
                } catch {
                    observer(BodyEnd(bytes: out.written.total, error: error))
                    throw error
                }
                observer(BodyEnd(bytes: out.written.total, error: nil))
            }
        case .text(let text): observer(BodyEnd(bytes: text.utf8.count, error: nil))
        case .bytes(let bytes): observer(BodyEnd(bytes: bytes.count, error: nil))
        case .empty, .upgraded: observer(BodyEnd(bytes: 0, error: nil))
        case .written: observer(BodyEnd(bytes: nil, error: nil))
        }
        return copy
    }

    /// Whether this answer's body is a stream (its head is what middleware
    /// sees; ``whenBodyEnds(_:)`` says when the body ended).
    public var isStream: Bool {
        if case .stream = body { return true }
        return false
    }
}
