internal import CChopinCore
import Synchronization

/// Where the core's message pieces meet the handler that iterates
/// ``WebSocket/messages``. The core calls ``receive(_:_:)`` on the worker
/// thread; pieces gather into a message until its last one, and whole
/// messages wait here for ``next()``. Past ``WebSocket/highWater`` bytes
/// waiting, the core is told to stop reading until the handler catches up.
final class MessageChannel: Sendable {
    private enum End {
        case closed
        case failed(any Error)
    }

    private struct State {
        var ready: [WebSocket.Message] = []
        var first = 0
        var buffered = 0
        var partial: [UInt8] = []
        var end: End?
        var waiter: CheckedContinuation<WebSocket.Message?, any Error>?
        var paused = false
        var deferralDone = false
    }

    private let state = Mutex(State())
    private let deferral: Deferral
    private let executor: WorkerExecutor

    init(deferral: Deferral, executor: WorkerExecutor) {
        self.deferral = deferral
        self.executor = executor
    }

    /// A piece, the client's close, or the end (worker thread). Returns 1 to stop reads.
    func receive(_ bytes: UnsafeRawBufferPointer, _ status: Int32) -> Int32 {
        if status < 0 || status & Int32(CHOPIN_WS_MSG_CLOSED) != 0 {
            let end: End =
                switch status {
                case Int32(CHOPIN_WS_MSG_CLOSED): .closed
                case Int32(CHOPIN_BODY_ABORTED): .failed(CancellationError())
                default: .failed(WebSocket.ProtocolError(code: UInt16(-status)))
                }
            let waiter = state.withLock { s in
                s.end = end
                defer { s.waiter = nil }
                return s.waiter
            }
            if let waiter { Self.resume(waiter, with: end) }
            return 0
        }
        let (waiter, message, pause) = state.withLock {
            s -> (CheckedContinuation<WebSocket.Message?, any Error>?, WebSocket.Message?, Bool) in
            s.partial.append(contentsOf: bytes)
            // A message under way is bounded by its own limit (the core's
            // 1009); only whole messages waiting count against highWater, so
            // a message larger than it is still read to its end.
            guard status & Int32(CHOPIN_WS_MSG_FIN) != 0 else { return (nil, nil, false) }
            // The core checked text as UTF-8 already.
            let message: WebSocket.Message =
                status & 0x0F == Int32(CHOPIN_WS_TEXT)
                ? .text(String(decoding: s.partial, as: UTF8.self)) : .binary(s.partial)
            s.partial = []
            if let w = s.waiter {
                s.waiter = nil
                return (w, message, false)
            }
            s.ready.append(message)
            s.buffered += message.byteCount
            if s.buffered > WebSocket.highWater { s.paused = true }
            return (nil, nil, s.paused)
        }
        if let waiter, let message { waiter.resume(returning: message) }
        return pause ? 1 : 0
    }

    private enum Step {
        case message(WebSocket.Message, resumeReads: Bool)
        case end(End)
        case wait
    }

    private static func take(_ s: inout State) -> Step {
        if s.first < s.ready.count {
            let message = s.ready[s.first]
            s.first += 1
            if s.first == s.ready.count {
                s.ready.removeAll(keepingCapacity: true)
                s.first = 0
            }
            s.buffered -= message.byteCount
            let resume = s.paused && s.buffered <= WebSocket.highWater / 4
            if resume { s.paused = false }
            return .message(message, resumeReads: resume)
        }
        if let end = s.end { return .end(end) }
        return .wait
    }

    func next() async throws -> WebSocket.Message? {
        switch state.withLock({ Self.take(&$0) }) {
        case .message(let message, let resumeReads):
            if resumeReads { self.resumeReads() }
            return message
        case .end(let end):
            if case .failed(let error) = end { throw error }
            return nil
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<WebSocket.Message?, any Error>) in
                    let step = state.withLock { s -> Step in
                        let step = Self.take(&s)
                        if case .wait = step { s.waiter = c }
                        return step
                    }
                    switch step {
                    case .message(let message, let resumeReads):
                        if resumeReads { self.resumeReads() }
                        c.resume(returning: message)
                    case .end(let end):
                        Self.resume(c, with: end)
                    case .wait:
                        if Task.isCancelled { cancelWaiter() }
                    }
                }
            } onCancel: {
                cancelWaiter()
            }
        }
    }

    private func cancelWaiter() {
        let waiter = state.withLock { s in
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: CancellationError())
    }

    /// The handler's task finished the deferral: nothing may call into it any more.
    func deferralFinished() {
        let waiter = state.withLock { s in
            s.deferralDone = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: CancellationError())
    }

    /// Lets the core read again, on the worker thread (a handler that left
    /// for another executor hops back first).
    private func resumeReads() {
        if state.withLock({ $0.deferralDone }) { return }
        if chopin_deferred_body_resume(deferral.pointer) == 0 { return }
        Task(executorPreference: executor) {
            if self.state.withLock({ $0.deferralDone }) { return }
            _ = chopin_deferred_body_resume(self.deferral.pointer)
        }
    }

    private static func resume(_ waiter: CheckedContinuation<WebSocket.Message?, any Error>, with end: End) {
        switch end {
        case .failed(let error): waiter.resume(throwing: error)
        case .closed: waiter.resume(returning: nil)
        }
    }
}
