internal import CChopinCore
import Synchronization

/// The answer of a request whose chain awaits: the core's deferred
/// response, and the task that writes it once, when the whole chain has
/// returned it.
///
/// Made on the worker, in the request's synchronous call: the response is
/// deferred, a body the handler reads as a stream starts flowing into its
/// channel, a WebSocket upgrade is accepted. The task runs on the worker's
/// own executor (the thread that owns the connection), so its answer goes
/// out in order with any pipelined requests. A client that disconnects
/// cancels the task (`Task.isCancelled`); so do the handler deadline
/// (``Configuration/handlerTimeoutMilliseconds``) and the shutdown deadline.
final class AsyncAnswer: Sendable {
    let deferral: Deferral
    let call: AsyncCall
    let executor: WorkerExecutor
    let record: AsyncHandlerRecord
    /// The body, for an endpoint that reads it as a stream.
    let bodyStream: RequestBodyStream?
    /// The accepted upgrade, for a WebSocket endpoint.
    let webSocket: MessageChannel?

    /// How long a chain cancelled at the handler deadline has to answer
    /// before the core answers 503 in its place.
    static let deadlineGraceMilliseconds: UInt32 = 1000

    /// Whether the handler deadline passed (worker thread: the task's).
    var timedOut: Bool { chopin_deferred_timed_out(deferral.pointer) != 0 }

    /// Writes the deferred answer (from the task).
    var writer: ResponseWriter { ResponseWriter(chopin_deferred_response(deferral.pointer)) }

    /// Defers `view`'s response; nil when it cannot be (no worker
    /// executor, out of memory).
    init?(_ view: Request, streamsBody: Bool, webSocket upgrade: Prepared.Upgrade? = nil) {
        guard let executor = view.writer.workerExecutor, let d = view.writer.deferToLater() else { return nil }
        self.executor = executor
        call = AsyncCall()
        let arg = Unmanaged.passRetained(call).toOpaque()
        chopin_deferred_observe(d, cancelAsyncCall, drainAsyncCall, releaseAsyncCall, arg)
        // At the handler deadline the task is cancelled, and its chain
        // answers (the 503 of a CancellationError, through the router's
        // error answers and its middleware); the core's own 503 only when
        // it has not within this grace.
        chopin_deferred_answers_timeout(d, Self.deadlineGraceMilliseconds)
        deferral = Deferral(pointer: d)
        record = AsyncHandlerRecord(deferral, view.head, route: view.route, on: executor)
        if streamsBody {
            let channel: BodyChannel
            if view.head.pointee.body_streamed != 0 {
                channel = BodyChannel(deferral: deferral, executor: executor)
                chopin_deferred_take_body(d, bodyPieceAsyncCall)
            } else {
                channel = BodyChannel(whole: [UInt8](view.body), deferral: deferral, executor: executor)
            }
            call.body.withLock { $0 = channel }
            bodyStream = RequestBodyStream(channel: channel)
        } else {
            bodyStream = nil
        }
        if let upgrade {
            let channel = MessageChannel(deferral: deferral, executor: executor)
            call.messages.withLock { $0 = channel }
            upgrade.accept.withUnsafeBufferPointer {
                chopin_deferred_websocket(d, $0.baseAddress, webSocketPiece, UInt64(max(upgrade.maxMessageBytes, 0)))
            }
            webSocket = channel
        } else {
            webSocket = nil
        }
    }

    /// Starts the task that runs `chain` and writes its answer.
    func run(_ chain: @escaping @Sendable () async -> Response) {
        let task = Task(executorPreference: record) { [self] in
            let response = await chain()
            await write(response)
            // From here the deferral is not the body's or the messages' to resume.
            bodyStream?.channel.deferralFinished()
            webSocket?.deferralFinished()
            record.end()
            chopin_deferred_finish(deferral.pointer)
        }
        call.task.withLock { $0 = task }
    }

    private func write(_ response: Response) async {
        switch response.body {
        case .upgraded:
            return  // the WebSocket's 101 went out when it was accepted
        case .stream(let produce):
            let writer = writer
            writer.start(response.status)
            writer.contentType(response.contentTypeValue)
            for h in response.headers { writer.header(h.name, h.value) }
            if response.closesConnection { writer.close() }
            guard chopin_deferred_stream_start(deferral.pointer) >= 0 else { return }
            // Once the head is out there is no status left to change: a
            // stream that throws just ends (logged unless the client left or
            // it was cancelled).
            do {
                try await produce(ResponseStream(deferral: deferral, call: call))
            } catch is CancellationError {
            } catch is ResponseStream.Closed {
            } catch {
                logError("stream ended by \(error)")
            }
        default:
            response.write(to: writer)
        }
    }

    /// A WebSocket endpoint's handler, on the upgrade accepted at init;
    /// its answer, for the middleware around it, is the 101.
    func runWebSocket(
        _ request: Request, maxMessageBytes: Int, _ handler: @Sendable (WebSocket) async throws -> Void
    ) async -> Response {
        guard let webSocket else { return .text("not a WebSocket upgrade\n", status: .badRequest) }
        do {
            try await handler(WebSocket(request: request, deferral: deferral, call: call, channel: webSocket))
        } catch is CancellationError {
        } catch is WebSocket.Closed {
        } catch is WebSocket.ProtocolError {
        } catch {
            logError("\(request.method) \(request.route): WebSocket handler threw \(error)")
        }
        return Response(status: HTTPStatus(101), contentType: nil, body: .upgraded)
    }
}

extension Prepared {
    /// A WebSocket upgrade checked on the view, to be accepted when the
    /// response is deferred.
    struct Upgrade: Sendable {
        let accept: [CChar]
        let maxMessageBytes: Int
    }

    /// Checks `view`'s upgrade: the accepted upgrade, or the answer to give
    /// instead (426 for a version other than 13, 400 for anything else).
    static func upgrade(_ view: Request, maxMessageBytes: Int) -> Result<Upgrade, HTTPError> {
        var accept = [CChar](repeating: 0, count: Int(CHOPIN_WS_ACCEPT_LEN))
        let status = accept.withUnsafeMutableBufferPointer { chopin_ws_handshake(view.head, $0.baseAddress) }
        if status == 426 {
            return .failure(
                HTTPError(HTTPStatus(426), "WebSocket version 13 only", headers: [("Sec-WebSocket-Version", "13")]))
        }
        guard status == 0 else { return .failure(HTTPError(.badRequest, "not a WebSocket upgrade")) }
        return .success(Upgrade(accept: accept, maxMessageBytes: maxMessageBytes))
    }
}

/// An async chain in flight: its task, so that the core can cancel it, and
/// the channels the core feeds.
final class AsyncCall: Sendable {
    let task = Mutex<Task<Void, Never>?>(nil)
    /// The request body, for a handler that takes it as a stream.
    let body = Mutex<BodyChannel?>(nil)
    /// A WebSocket's incoming messages (``WebSocket``).
    let messages = Mutex<MessageChannel?>(nil)
    /// A streamed response waiting for its client to read (``ResponseStream``).
    let drainWaiter = Mutex<CheckedContinuation<Void, any Error>?>(nil)
}

/// The core's deferred response, handed to the task that finishes it.
struct Deferral: @unchecked Sendable {
    // @unchecked: the C deferral is written by one thread at a time (the
    // task's), and finishing it is safe from any thread.
    let pointer: OpaquePointer
}

let cancelAsyncCall: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncCall>.fromOpaque(arg).takeUnretainedValue().task.withLock { $0?.cancel() }
}

private let bodyPieceAsyncCall: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32) -> Int32 = {
    arg, data, count, status in
    guard let arg else { return 0 }
    let channel = Unmanaged<AsyncCall>.fromOpaque(arg).takeUnretainedValue().body.withLock { $0 }
    return channel?.receive(UnsafeRawBufferPointer(start: data, count: count), status) ?? 0
}

private let webSocketPiece: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32) -> Int32 = {
    arg, data, count, status in
    guard let arg else { return 0 }
    let channel = Unmanaged<AsyncCall>.fromOpaque(arg).takeUnretainedValue().messages.withLock { $0 }
    return channel?.receive(UnsafeRawBufferPointer(start: data, count: count), status) ?? 0
}

let drainAsyncCall: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncCall>.fromOpaque(arg).takeUnretainedValue().resumeDrainWaiter()
}

let releaseAsyncCall: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncCall>.fromOpaque(arg).release()
}
