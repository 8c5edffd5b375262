internal import CChopinCore
import Synchronization

/// A request body taken piece by piece as it arrives, for uploads larger
/// than anyone should hold in memory: an async sequence of byte chunks.
///
/// ```swift
/// router.post("/upload") { (req: Request, body: RequestBodyStream) async throws -> Response in
///     var bytes = 0
///     for try await chunk in body { bytes += chunk.count }
///     return .text("\(bytes) bytes")
/// }
/// ```
///
/// A route registered with a `RequestBodyStream` parameter gets its handler
/// called as soon as the request head is parsed; the body is limited by
/// ``Configuration/maxStreamedBodyBytes`` instead of ``Configuration/maxBody``
/// and ``Configuration/bodyTimeoutMilliseconds`` counts from the last chunk.
/// At most ``highWater`` bytes wait in the stream for the handler: past
/// that, the connection stops reading until the handler catches up, so a
/// slow handler costs bounded memory, not the whole upload.
///
/// Iteration throws an ``HTTPError`` when the body cannot complete (400 for
/// bad chunked framing or a body cut short, 408 when it stalls, 413 over the
/// limit; the server has then answered the client itself) and
/// `CancellationError` when the client is gone. Iterate it inside the
/// handler (the stream ends with it), once.
public struct RequestBodyStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    /// Bytes that may wait in the stream before reads pause.
    public static let highWater = 512 * 1024

    let channel: BodyChannel

    public func makeAsyncIterator() -> Iterator { Iterator(channel: channel) }

    /// Reads the next chunk; nil once the body has ended.
    public struct Iterator: AsyncIteratorProtocol {
        let channel: BodyChannel
        public mutating func next() async throws -> [UInt8]? { try await channel.next() }
    }

    /// Reads the whole body into one array, refusing more than `limit` bytes
    /// (413) without reading past it.
    public func collect(upTo limit: Int) async throws -> [UInt8] {
        var all: [UInt8] = []
        for try await chunk in self {
            guard all.count + chunk.count <= limit else {
                throw HTTPError(.payloadTooLarge, "request body over \(limit) bytes")
            }
            all += chunk
        }
        return all
    }
}

/// Where the core's body pieces meet the handler that reads them. The core
/// calls ``receive(_:_:)`` on the worker thread; the handler's task takes
/// chunks in ``next()``, usually on the same thread.
final class BodyChannel: Sendable {
    private enum End {
        case finished
        case failed(any Error)
    }

    private struct State {
        var chunks: [[UInt8]] = []
        var first = 0
        var buffered = 0
        var end: End?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        /// The core was told to stop reading.
        var paused = false
        /// The deferral is finished: nothing may call into it any more.
        var deferralDone = false
    }

    private let state = Mutex(State())
    private let deferral: Deferral
    private let executor: WorkerExecutor

    init(deferral: Deferral, executor: WorkerExecutor) {
        self.deferral = deferral
        self.executor = executor
    }

    /// A body that arrived whole with its head (or an empty one): no stream from the core.
    init(whole bytes: [UInt8], deferral: Deferral, executor: WorkerExecutor) {
        self.deferral = deferral
        self.executor = executor
        state.withLock {
            if !bytes.isEmpty { $0.chunks.append(bytes) }
            $0.buffered = bytes.count
            $0.end = .finished
        }
    }

    /// A piece from the core (worker thread). Returns 1 to stop reads.
    func receive(_ bytes: UnsafeRawBufferPointer, _ status: Int32) -> Int32 {
        let end: End? =
            switch status {
            case Int32(CHOPIN_BODY_MORE): nil
            case Int32(CHOPIN_BODY_END): .finished
            case Int32(CHOPIN_BODY_ABORTED): .failed(CancellationError())
            default: .failed(Self.error(forStatus: -Int(status)))
            }
        let chunk = bytes.isEmpty ? nil : [UInt8](bytes)
        let (waiter, pause) = state.withLock { s -> (CheckedContinuation<[UInt8]?, any Error>?, Bool) in
            if let end { s.end = end }
            if let chunk {
                if let w = s.waiter {
                    s.waiter = nil
                    return (w, false)
                }
                s.chunks.append(chunk)
                s.buffered += chunk.count
                if s.buffered > RequestBodyStream.highWater { s.paused = true }
                return (nil, s.paused)
            }
            defer { s.waiter = nil }
            return (s.waiter, false)
        }
        if let waiter {
            if let chunk {
                waiter.resume(returning: chunk)
            } else {
                Self.resume(waiter, with: end)
            }
        }
        return pause ? 1 : 0
    }

    private enum Step {
        case chunk([UInt8], resumeReads: Bool)
        case end(End)
        case wait
    }

    /// Takes what is ready: the oldest chunk, else the end, else nothing.
    private static func take(_ s: inout State) -> Step {
        if s.first < s.chunks.count {
            let chunk = s.chunks[s.first]
            s.chunks[s.first] = []
            s.first += 1
            if s.first == s.chunks.count {
                s.chunks.removeAll(keepingCapacity: true)
                s.first = 0
            }
            s.buffered -= chunk.count
            let resume = s.paused && s.buffered <= RequestBodyStream.highWater / 4
            if resume { s.paused = false }
            return .chunk(chunk, resumeReads: resume)
        }
        if let end = s.end { return .end(end) }
        return .wait
    }

    func next() async throws -> [UInt8]? {
        switch state.withLock({ Self.take(&$0) }) {
        case .chunk(let chunk, let resumeReads):
            if resumeReads { self.resumeReads() }
            return chunk
        case .end(let end):
            if case .failed(let error) = end { throw error }
            return nil
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8]?, any Error>) in
                    // A piece or the end may have come in between: look again.
                    let step = state.withLock { s -> Step in
                        let step = Self.take(&s)
                        if case .wait = step { s.waiter = c }
                        return step
                    }
                    switch step {
                    case .chunk(let chunk, let resumeReads):
                        if resumeReads { self.resumeReads() }
                        c.resume(returning: chunk)
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

    /// The handler's task finished the deferral (on the worker thread).
    func deferralFinished() {
        let waiter = state.withLock { s in
            s.deferralDone = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: CancellationError())
    }

    /// Lets the core read again. Only the worker thread may call into the
    /// deferral: elsewhere (a handler that took the body to another
    /// executor) the call hops there first, and gives up once the deferral
    /// is finished.
    private func resumeReads() {
        if state.withLock({ $0.deferralDone }) { return }
        if chopin_deferred_body_resume(deferral.pointer) == 0 { return }
        Task(executorPreference: executor) {
            if self.state.withLock({ $0.deferralDone }) { return }
            _ = chopin_deferred_body_resume(self.deferral.pointer)
        }
    }

    private static func resume(_ waiter: CheckedContinuation<[UInt8]?, any Error>, with end: End?) {
        switch end {
        case .failed(let error): waiter.resume(throwing: error)
        default: waiter.resume(returning: nil)
        }
    }

    static func error(forStatus status: Int) -> HTTPError {
        switch status {
        case 408: HTTPError(HTTPStatus(408), "the request body stalled")
        case 413: HTTPError(.payloadTooLarge, "request body over the server's limit")
        case 431: HTTPError(HTTPStatus(431), "request trailers over the server's limit")
        default: HTTPError(.badRequest, "malformed or incomplete request body")
        }
    }
}
