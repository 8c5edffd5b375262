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

    /// The client is gone (or the stream was written from outside its handler's task).
    public struct Closed: Error, Sendable {}

    /// Sends `bytes` as the next piece of the body.
    public func write(_ bytes: [UInt8]) async throws {
        let rc = bytes.withUnsafeBytes { chopin_deferred_stream_write(deferral.pointer, $0.baseAddress, $0.count) }
        try await settle(rc)
    }

    /// Sends `text` (UTF-8) as the next piece of the body.
    public func write(_ text: String) async throws {
        let rc = text.withUTF8Bytes { chopin_deferred_stream_write(deferral.pointer, $0.baseAddress, $0.count) }
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
