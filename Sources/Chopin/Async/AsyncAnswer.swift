internal import CChopinCore
import Synchronization

/// The answer of a request whose chain awaits: the core's deferred
/// response, the task that writes it once, when the whole chain has
/// returned it, and the channels the core feeds (a body read as a stream,
/// a WebSocket's messages). One object per async request: the core's
/// callbacks reach it (retained for the deferral's life), and its task
/// prefers it as its executor.
///
/// Made on the worker, in the request's synchronous call: the response is
/// deferred, a body the handler reads as a stream starts flowing into its
/// channel, a WebSocket upgrade is accepted. The task runs on the worker's
/// own executor (the thread that owns the connection), so its answer goes
/// out in order with any pipelined requests. A client that disconnects
/// cancels the task (`Task.isCancelled`); so do the handler deadline
/// (``Configuration/handlerTimeoutMilliseconds``) and the shutdown deadline.
///
/// As the executor the task prefers, it is the worker's, with each job
/// queued under this answer, so that the worker notes whose code it runs
/// (``WorkerExecutor/runTurn()``) and a worker that dies inside the task
/// names this route even when other async handlers started later. Child
/// tasks (`async let`, task groups) inherit the preference.
final class AsyncAnswer: TaskExecutor, @unchecked Sendable {
    // @unchecked: the constants are set in init; `task` and `drainWaiter`
    // are behind their Mutexes; the channels are read by the core's
    // callbacks on the worker thread and by the task.
    let deferral: Deferral
    let executor: WorkerExecutor
    /// The body, for an endpoint that reads it as a stream.
    let bodyStream: RequestBodyStream?
    /// The messages of a WebSocket endpoint's connection.
    let webSocket: MessageChannel?
    /// The upgrade it accepted (its subprotocol for the handler): at init,
    /// or later, on the worker, when a middleware in front of the endpoint
    /// awaited first (``acceptLate(_:)``).
    private(set) var webSocketUpgrade: Prepared.Upgrade?
    /// The task, so that the core can cancel it.
    let task = Mutex<Task<Void, Never>?>(nil)
    /// A streamed response waiting for its client to read (``ResponseStream``).
    let drainWaiter = Mutex<CheckedContinuation<Void, any Error>?>(nil)

    /// How long a chain cancelled at the handler deadline has to answer
    /// before the core answers 503 in its place.
    static let deadlineGraceMilliseconds: UInt32 = 1000

    /// Whether the handler deadline passed (worker thread: the task's).
    var timedOut: Bool { chopin_deferred_timed_out(deferral.pointer) != 0 }

    /// Writes the deferred answer (from the task).
    var writer: ResponseWriter { ResponseWriter(chopin_deferred_response(deferral.pointer)) }

    /// Defers `view`'s response; nil when it cannot be (no worker
    /// executor, out of memory). A WebSocket endpoint's upgrade is accepted
    /// now when it is given, or later with ``acceptLate(_:)`` when
    /// `upgradesLater` (something in front of the endpoint awaits first).
    init?(_ view: Request, streamsBody: Bool, webSocket upgrade: Prepared.Upgrade? = nil, upgradesLater: Bool = false) {
        guard let executor = view.writer.workerExecutor, let d = view.writer.deferToLater() else { return nil }
        self.executor = executor
        deferral = Deferral(pointer: d)
        if streamsBody {
            let channel: BodyChannel
            if view.head.pointee.body_streamed != 0 {
                channel = BodyChannel(deferral: deferral, executor: executor)
            } else {
                channel = BodyChannel(whole: [UInt8](view.body), deferral: deferral, executor: executor)
            }
            bodyStream = RequestBodyStream(channel: channel)
        } else {
            bodyStream = nil
        }
        webSocket = upgrade != nil || upgradesLater ? MessageChannel(deferral: deferral, executor: executor) : nil
        webSocketUpgrade = upgrade
        // Whole now: the core may call back from here on (worker thread).
        chopin_deferred_observe(d, cancelAsyncAnswer, drainAsyncAnswer, releaseAsyncAnswer, Unmanaged.passRetained(self).toOpaque())
        // At the handler deadline the task is cancelled, and its chain
        // answers (the 503 of a CancellationError, through the router's
        // error answers and its middleware); the core's own 503 only when
        // it has not within this grace.
        chopin_deferred_answers_timeout(d, Self.deadlineGraceMilliseconds)
        if streamsBody && view.head.pointee.body_streamed != 0 { chopin_deferred_take_body(d, bodyPieceAsyncAnswer) }
        if let upgrade { Self.accept(upgrade, on: d) }
        // The worker's record of what runs: this request's async code from now on.
        let method = view.head.pointee.method_name
        view.route.withUTF8Bytes { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                chopin_deferred_handling_async(d, method.ptr, method.len, chars.baseAddress, chars.count)
            }
        }
    }

    /// The deferral becomes `upgrade`'s WebSocket when it is decided.
    private static func accept(_ upgrade: Prepared.Upgrade, on d: OpaquePointer) {
        // The router refused a limit that is not positive: 0 would be
        // the core's "no limit".
        upgrade.accept.withUnsafeBufferPointer {
            chopin_deferred_websocket(d, $0.baseAddress, webSocketPiece, UInt64(max(upgrade.maxMessageBytes, 1)))
        }
        if let name = upgrade.subprotocol {
            name.withUTF8Bytes { bytes in
                bytes.withMemoryRebound(to: CChar.self) { _ = chopin_deferred_websocket_protocol(d, $0.baseAddress, $0.count) }
            }
        }
    }

    /// Accepts the upgrade of a WebSocket endpoint that a middleware in
    /// front of it awaited before (on the worker, in the task): the 101 is
    /// queued at once. False when the connection is gone.
    func acceptLate(_ upgrade: Prepared.Upgrade) -> Bool {
        guard webSocket != nil, webSocketUpgrade == nil else { return false }
        webSocketUpgrade = upgrade
        Self.accept(upgrade, on: deferral.pointer)
        return chopin_deferred_websocket_accept(deferral.pointer) == 0
    }

    func enqueue(_ job: consuming ExecutorJob) {
        executor.enqueue(UnownedJob(job), for: self)
    }

    /// Starts the task that runs `chain` and writes its answer.
    func run(_ chain: @escaping @Sendable () async -> Response) {
        let task = Task(executorPreference: self) { [self] in
            let response = await chain()
            await write(response)
            // From here the deferral is not the body's or the messages' to resume.
            bodyStream?.channel.deferralFinished()
            webSocket?.deferralFinished()
            chopin_deferred_handled_async(deferral.pointer)  // the worker's record: done
            chopin_deferred_finish(deferral.pointer)
        }
        self.task.withLock { $0 = task }
    }

    nonisolated(nonsending) private func write(_ response: Response) async {
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
                try await produce(ResponseStream(deferral: deferral, call: self))
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
    func runWebSocket(_ request: Request, _ handler: @Sendable (WebSocket) async throws -> Void) async -> Response {
        guard let webSocket, let upgrade = webSocketUpgrade else {
            return .text("not a WebSocket upgrade\n", status: .badRequest)
        }
        do {
            let ws = WebSocket(
                request: request, subprotocol: upgrade.subprotocol, deferral: deferral, call: self, channel: webSocket)
            try await handler(ws)
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
        /// The endpoint's first subprotocol the client offered; nil: none agreed.
        let subprotocol: String?
    }

    /// Checks `view`'s upgrade: the accepted upgrade, or the answer to give
    /// instead (426 for a version other than 13, 400 for anything else).
    static func upgrade(_ view: Request, _ options: WebSocket.Options) -> Result<Upgrade, HTTPError> {
        var accept = [CChar](repeating: 0, count: Int(CHOPIN_WS_ACCEPT_LEN))
        let status = accept.withUnsafeMutableBufferPointer { chopin_ws_handshake(view.head, $0.baseAddress) }
        if status == 426 {
            return .failure(
                HTTPError(HTTPStatus(426), "WebSocket version 13 only", headers: [("Sec-WebSocket-Version", "13")]))
        }
        guard status == 0 else { return .failure(HTTPError(.badRequest, "not a WebSocket upgrade")) }
        let chosen = options.subprotocols.first { name in
            name.withUTF8Bytes { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chopin_ws_offers_protocol(view.head, $0.baseAddress, $0.count) == 1 }
            }
        }
        return .success(Upgrade(accept: accept, maxMessageBytes: options.maxMessageBytes, subprotocol: chosen))
    }
}

/// The core's deferred response, handed to the task that finishes it.
struct Deferral: @unchecked Sendable {
    // @unchecked: the C deferral is written by one thread at a time (the
    // task's), and finishing it is safe from any thread.
    let pointer: OpaquePointer
}

let cancelAsyncAnswer: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncAnswer>.fromOpaque(arg).takeUnretainedValue().task.withLock { $0?.cancel() }
}

private let bodyPieceAsyncAnswer: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32) -> Int32 = {
    arg, data, count, status in
    guard let arg else { return 0 }
    let channel = Unmanaged<AsyncAnswer>.fromOpaque(arg).takeUnretainedValue().bodyStream?.channel
    return channel?.receive(UnsafeRawBufferPointer(start: data, count: count), status) ?? 0
}

private let webSocketPiece: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32) -> Int32 = {
    arg, data, count, status in
    guard let arg else { return 0 }
    let channel = Unmanaged<AsyncAnswer>.fromOpaque(arg).takeUnretainedValue().webSocket
    return channel?.receive(UnsafeRawBufferPointer(start: data, count: count), status) ?? 0
}

let drainAsyncAnswer: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncAnswer>.fromOpaque(arg).takeUnretainedValue().resumeDrainWaiter()
}

let releaseAsyncAnswer: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncAnswer>.fromOpaque(arg).release()
}
