internal import CChopinCore
import Synchronization

/// Where the core's message pieces meet the handler that iterates
/// ``WebSocket/messages``. The core calls ``receive(_:_:)`` on the worker
/// thread; pieces gather into a message until its last one, and whole
/// messages wait here for ``next()``. Past ``WebSocket/highWater`` bytes
/// waiting, the core is told to stop reading until the handler catches up.
final class MessageChannel: Sendable {
    private let queue: PieceQueue<WebSocket.Message>
    /// The pieces of the message under way (only the worker thread touches it).
    private let partial = Mutex<[UInt8]>([])
    /// The client's close frame, once it came.
    let clientClose = Mutex<WebSocket.CloseFrame?>(nil)

    init(deferral: Deferral, executor: WorkerExecutor) {
        queue = PieceQueue(deferral: deferral, executor: executor, highWater: WebSocket.highWater)
    }

    /// A piece, the client's close, or the end (worker thread). Returns 1 to stop reads.
    func receive(_ bytes: UnsafeRawBufferPointer, _ status: Int32) -> Int32 {
        if status < 0 || status & Int32(CHOPIN_WS_MSG_CLOSED) != 0 {
            switch status {
            case Int32(CHOPIN_WS_MSG_CLOSED):
                // Set before the messages end, so a handler that saw the end sees it.
                clientClose.withLock { $0 = WebSocket.CloseFrame(payload: bytes) }
                queue.finish()
            case Int32(CHOPIN_BODY_ABORTED): queue.finish(throwing: CancellationError())
            default: queue.finish(throwing: WebSocket.ProtocolError(code: UInt16(-status)))
            }
            return 0
        }
        // A message under way is bounded by its own limit (the core's
        // 1009); only whole messages waiting count against highWater, so a
        // message larger than it is still read to its end.
        let whole = partial.withLock { p -> [UInt8]? in
            p.append(contentsOf: bytes)
            guard status & Int32(CHOPIN_WS_MSG_FIN) != 0 else { return nil }
            defer { p = [] }
            return p
        }
        guard let whole else { return 0 }
        // The core checked text as UTF-8 already.
        let message: WebSocket.Message =
            status & 0x0F == Int32(CHOPIN_WS_TEXT) ? .text(String(decoding: whole, as: UTF8.self)) : .binary(whole)
        return queue.push(message, size: message.byteCount) ? 1 : 0
    }

    func next() async throws -> WebSocket.Message? { try await queue.next() }

    /// The handler's task finished the deferral: nothing may call into it any more.
    func deferralFinished() { queue.deferralFinished() }
}
