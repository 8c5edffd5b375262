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

/// Where the core's body pieces meet the handler that reads them: the core
/// calls ``receive(_:_:)`` on the worker thread, the handler's task takes
/// chunks in ``next()`` (a ``PieceQueue`` of chunks).
final class BodyChannel: Sendable {
    private let queue: PieceQueue<[UInt8]>

    init(deferral: Deferral, executor: WorkerExecutor) {
        queue = PieceQueue(deferral: deferral, executor: executor, highWater: RequestBodyStream.highWater)
    }

    /// A body that arrived whole with its head (or an empty one): no stream from the core.
    convenience init(whole bytes: [UInt8], deferral: Deferral, executor: WorkerExecutor) {
        self.init(deferral: deferral, executor: executor)
        if bytes.isEmpty {
            queue.finish()
        } else {
            queue.fillAndFinish(with: bytes, size: bytes.count)
        }
    }

    /// A piece from the core (worker thread). Returns 1 to stop reads.
    func receive(_ bytes: UnsafeRawBufferPointer, _ status: Int32) -> Int32 {
        let pause = !bytes.isEmpty && queue.push([UInt8](bytes), size: bytes.count)
        switch status {
        case Int32(CHOPIN_BODY_MORE): break
        case Int32(CHOPIN_BODY_END): queue.finish()
        case Int32(CHOPIN_BODY_ABORTED): queue.finish(throwing: CancellationError())
        default: queue.finish(throwing: Self.error(forStatus: -Int(status)))
        }
        return pause ? 1 : 0
    }

    func next() async throws -> [UInt8]? { try await queue.next() }

    /// The handler's task finished the deferral (on the worker thread).
    func deferralFinished() { queue.deferralFinished() }

    static func error(forStatus status: Int) -> HTTPError {
        switch status {
        case 408: HTTPError(HTTPStatus(408), "the request body stalled")
        case 413: HTTPError(.payloadTooLarge, "request body over the server's limit")
        case 431: HTTPError(HTTPStatus(431), "request trailers over the server's limit")
        default: HTTPError(.badRequest, "malformed or incomplete request body")
        }
    }
}
