internal import CChopinCore
import Synchronization

/// Async handlers: registered like synchronous ones, with an owned
/// ``Request`` in place of the ``Context`` view.
///
/// ```swift
/// router.get("/sleep") { (req: Request, q: Query<Nap>) async throws -> Response in
///     try await Task.sleep(for: .milliseconds(q.value.ms))
///     return .text("slept \(q.value.ms)")
/// }
/// ```
///
/// Extractors run first, on the worker, over the request in place; the
/// handler then runs as a task on the worker's own executor (the thread that
/// owns the connection), and its response goes out through the core's
/// deferred path, in order with any pipelined requests. A client that
/// disconnects cancels the task (`Task.isCancelled`); so do the handler
/// deadline (``Configuration/handlerTimeoutMilliseconds``, answered 503) and
/// the shutdown deadline. Work that blocks a thread (heavy computation,
/// blocking file I/O) must leave the worker:
/// `await withTaskExecutorPreference(globalConcurrentExecutor) { ... }`.
extension RouteRegistrar {
    /// Registers an async handler for `method` and `path`, with any extractors as parameters.
    public func on<each E: FromRequest & Sendable>(
        _ method: Method, _ path: String,
        _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        add(method, path) { ctx in
            let values = (repeat try (each E).extract(from: ctx))
            return ctx.runAsync { request in try await handler(request, repeat each values) }
        }
    }

    /// Registers an async handler for GET and `path`, with any extractors as parameters.
    public func get<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.get, path, handler)
    }

    /// Registers an async handler for POST and `path`, with any extractors as parameters.
    public func post<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.post, path, handler)
    }

    /// Registers an async handler for PUT and `path`, with any extractors as parameters.
    public func put<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.put, path, handler)
    }

    /// Registers an async handler for DELETE and `path`, with any extractors as parameters.
    public func delete<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.delete, path, handler)
    }

    /// Registers an async handler for PATCH and `path`, with any extractors as parameters.
    public func patch<each E: FromRequest & Sendable>(
        _ path: String, _ handler: @escaping @Sendable (Request, repeat each E) async throws -> Response
    ) {
        on(.patch, path, handler)
    }
}

// The shipped extractors own their values (no view into the connection's
// buffer), so they may move into a handler's task. Declared here, next to the
// API that needs it; `@unchecked` only because Swift accepts a checked
// Sendable conformance solely in the type's own file.
extension Json: @unchecked Sendable where T: Sendable {}
extension Query: @unchecked Sendable where T: Sendable {}
extension Path: @unchecked Sendable where T: Sendable {}
extension Header: @unchecked Sendable {}
extension RawBody: @unchecked Sendable {}

/// An async handler in flight: its task, so that the core can cancel it,
/// and the headers middleware added to the response while the task runs.
@usableFromInline
final class AsyncCall: Sendable {
    let task = Mutex<Task<Void, Never>?>(nil)
    /// The request body, for a handler that takes it as a stream.
    let body = Mutex<BodyChannel?>(nil)
    let middlewareHeaders = Mutex<[(name: String, value: String)]>([])
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

extension Context {
    /// Defers the response, copies the request and starts `body` as a task
    /// on this worker's executor. Returns the marker the router passes on.
    func runAsync(_ body: @escaping @Sendable (Request) async throws -> Response) -> Response {
        runAsync(takingBody: false) { request, _ in try await body(request) }
    }

    /// As ``runAsync(_:)``; with `takingBody`, the handler also gets the
    /// request body as a stream (the core's pieces, or the body that came
    /// whole with the head).
    func runAsync(
        takingBody: Bool, _ body: @escaping @Sendable (Request, RequestBodyStream?) async throws -> Response
    ) -> Response {
        guard let executor = response.workerExecutor, let d = response.deferToLater() else {
            return Response(status: .serviceUnavailable)
        }
        let request = Request(copying: self)
        let call = AsyncCall()
        let arg = Unmanaged.passRetained(call).toOpaque()
        chopin_deferred_observe(d, cancelAsyncCall, drainAsyncCall, releaseAsyncCall, arg)
        let deferral = Deferral(pointer: d)
        let record = AsyncHandlerRecord(deferral, self.request, route: route, on: executor)
        var bodyStream: RequestBodyStream?
        if takingBody {
            let channel: BodyChannel
            if self.request.pointee.body_streamed != 0 {
                channel = BodyChannel(deferral: deferral, executor: executor)
                chopin_deferred_take_body(d, bodyPieceAsyncCall)
            } else {
                channel = BodyChannel(whole: [UInt8](self.body), deferral: deferral, executor: executor)
            }
            call.body.withLock { $0 = channel }
            bodyStream = RequestBodyStream(channel: channel)
        }
        let task = Task(executorPreference: record) { [bodyStream] in
            let writer = ResponseWriter(chopin_deferred_response(deferral.pointer))
            do {
                var response = try await body(request, bodyStream)
                response.headers += call.middlewareHeaders.withLock { $0 }
                if case .stream(let produce) = response.body {
                    await stream(response, produce, writer, deferral, call, request)
                } else {
                    response.write(to: writer)
                }
            } catch {
                answerThrown(error, writer, method: request.method, route: request.route)
            }
            // From here the deferral is not the body's to resume.
            bodyStream?.channel.deferralFinished()
            record.end()
            chopin_deferred_finish(deferral.pointer)
        }
        call.task.withLock { $0 = task }
        return Response(status: .ok, contentType: nil, body: .deferred(call))
    }
}

let cancelAsyncCall: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
    guard let arg else { return }
    Unmanaged<AsyncCall>.fromOpaque(arg).takeUnretainedValue().task.withLock { $0?.cancel() }
}

/// Sends a streamed response's head, then lets `produce` write its pieces.
/// Once the head is out there is no status left to change: a stream that
/// throws just ends (logged unless the client left or it was cancelled).
private func stream(
    _ response: Response, _ produce: @Sendable (ResponseStream) async throws -> Void, _ writer: ResponseWriter,
    _ deferral: Deferral, _ call: AsyncCall, _ request: Request
) async {
    writer.start(response.status)
    writer.contentType(response.contentTypeValue)
    for h in response.headers { writer.header(h.name, h.value) }
    guard chopin_deferred_stream_start(deferral.pointer) >= 0 else { return }
    do {
        try await produce(ResponseStream(deferral: deferral, call: call))
    } catch is CancellationError {
    } catch is ResponseStream.Closed {
    } catch {
        logError("\(request.method) \(request.route): stream ended by \(error)")
    }
}

private let bodyPieceAsyncCall: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32) -> Int32 = {
    arg, data, count, status in
    guard let arg else { return 0 }
    let channel = Unmanaged<AsyncCall>.fromOpaque(arg).takeUnretainedValue().body.withLock { $0 }
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
