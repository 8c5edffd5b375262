/// What a route ends in: the handler, in the shape it was registered with.
enum Endpoint: Sendable {
    /// A synchronous handler (its extractors inside).
    case sync(Handler)
    /// An async handler: its extractors run first (synchronously, on the
    /// view when nothing before them awaited), then the body.
    case async(@Sendable (Request) throws -> AsyncBody)
    /// An async handler that reads its body as a stream.
    case streamingBody(@Sendable (Request) throws -> StreamBody)
    /// A WebSocket endpoint: the upgrade, then the handler.
    case webSocket(WebSocket.Options, @Sendable (WebSocket) async throws -> Void)

    var isSync: Bool {
        if case .sync = self { return true }
        return false
    }

    var streamsBody: Bool {
        if case .streamingBody = self { return true }
        return false
    }

    var isWebSocket: Bool {
        if case .webSocket = self { return true }
        return false
    }
}

typealias AsyncBody = @Sendable (Request) async throws -> Response
typealias StreamBody = @Sendable (Request, RequestBodyStream) async throws -> Response

/// An async endpoint's extractors, already run.
enum Prepared: Sendable {
    case body(AsyncBody)
    case stream(StreamBody)
    /// A WebSocket upgrade, checked; accepted when the response is deferred
    /// (only where nothing in front of the endpoint awaits: otherwise it is
    /// checked and accepted in the task, when the endpoint is reached).
    case webSocket(Upgrade)

    var upgrade: Upgrade? {
        if case .webSocket(let u) = self { return u }
        return nil
    }
}

/// One middleware as a chain runs it.
enum Layer: Sendable {
    case sync(SyncStep)
    case async(any Middleware)

    init(_ m: any Middleware) {
        if let s = m as? any SyncMiddleware { self = .sync(SyncStep.holding(s)) } else { self = .async(m) }
    }

    var isScoped: Bool {
        if case .sync(let step) = self { return step.isScoped }
        return false
    }
}

/// A ``SyncMiddleware`` held so that calling it copies nothing: its value
/// sits inline in an object of a class made for its type (an existential
/// copied its value, and retained what it holds, on every call).
class SyncStep: @unchecked Sendable {
    // @unchecked: immutable; the middleware it holds is Sendable.
    func before(_ request: inout Request) throws -> Response? { nil }
    func after(_ request: Request, response: inout Response) throws {}
    /// Whether the middleware is a ``ScopedMiddleware``.
    var isScoped: Bool { false }
    func withScope(_ request: Request, _ rest: () -> Response) -> Response { rest() }
    nonisolated(nonsending) func withScope(
        _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
    ) async -> Response { await rest() }

    static func holding(_ m: any SyncMiddleware) -> SyncStep {
        if let scoped = m as? any ScopedMiddleware { return typedScoped(scoped) }
        return typed(m)
    }
    private static func typed<M: SyncMiddleware>(_ m: M) -> SyncStep { TypedSyncStep(m) }
    private static func typedScoped<M: ScopedMiddleware>(_ m: M) -> SyncStep { TypedScopedStep(m) }
}

private class TypedSyncStep<M: SyncMiddleware>: SyncStep, @unchecked Sendable {
    let middleware: M
    init(_ middleware: M) { self.middleware = middleware }
    override func before(_ request: inout Request) throws -> Response? { try middleware.before(&request) }
    override func after(_ request: Request, response: inout Response) throws {
        try middleware.after(request, response: &response)
    }
}

/// A ``ScopedMiddleware``: its `before` and `after` as any, and its scope.
private final class TypedScopedStep<M: ScopedMiddleware>: TypedSyncStep<M>, @unchecked Sendable {
    override var isScoped: Bool { true }
    override func withScope(_ request: Request, _ rest: () -> Response) -> Response {
        middleware.withScope(request, rest)
    }
    nonisolated(nonsending) override func withScope(
        _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
    ) async -> Response {
        await middleware.withScope(request, rest)
    }
}

/// A route's pipeline, composed once when the router freezes: its active
/// middleware, outermost first, then its endpoint.
///
/// A chain that never awaits runs on the worker, start to end, on the
/// request's view ("the synchronous path": no task, no copy). Otherwise
/// the synchronous middleware in front of the first that awaits run their
/// `before` on the worker, the request is copied once, and the rest, their
/// `after` included, runs as one task on the worker's executor, whose
/// answer is written once, when the whole chain has returned it.
final class Chain: Sendable {
    let layers: [Layer]
    /// The layers of a chain that never awaits, unowned (`layers` keeps
    /// them): reading one costs no reference count.
    private let syncSteps: [Unmanaged<SyncStep>]
    /// The handler of a chain with no middleware that never awaits: the
    /// worker calls it directly.
    let direct: Handler?
    let endpoint: Endpoint
    let errors: ErrorAnswers
    /// The index of the first layer that awaits; `layers.count` when only
    /// the endpoint does; nil when nothing does.
    let firstAsync: Int?
    /// Whether a layer is a ``ScopedMiddleware``: the rest of the chain
    /// then runs nested inside it, not as a loop.
    private let hasScopes: Bool

    init(_ middleware: [any Middleware], _ endpoint: Endpoint, errors: ErrorAnswers) {
        layers = middleware.filter(\.isActive).map(Layer.init)
        self.endpoint = endpoint
        self.errors = errors
        if let i = layers.firstIndex(where: { if case .async = $0 { true } else { false } }) {
            firstAsync = i
        } else {
            firstAsync = endpoint.isSync ? nil : layers.count
        }
        hasScopes = layers.contains { $0.isScoped }
        syncSteps = layers.compactMap { if case .sync(let step) = $0 { Unmanaged.passUnretained(step) } else { nil } }
        if case .sync(let handler) = endpoint, layers.isEmpty { direct = handler } else { direct = nil }
    }

    /// Answers `request` (a view) on the worker: the answer to write, or
    /// nil when the chain went async and its task writes the answer.
    func respond(_ request: inout Request) -> Response? {
        guard let stop = firstAsync else { return runSync(&request) }
        return enterThenSuspend(request, stop: stop)
    }

    // MARK: The synchronous path

    // The request goes down the chain in place (inout): passed by value,
    // each layer copied it (a dozen words and a reference count). A loop,
    // not a recursion: the `before`s in order, the handler, then the
    // `after`s of the layers entered, innermost first (a layer that
    // answered in its `before`, or threw there, gets no `after`).
    private func runSync(_ request: inout Request) -> Response {
        if hasScopes { return runSyncNested(0, &request) }
        let count = syncSteps.count
        var entered = 0
        var response: Response
        while true {
            guard entered < count else {
                response = runSyncEndpoint(request)
                break
            }
            if let early = syncSteps[entered]._withUnsafeGuaranteedRef({ before($0, &request) }) {
                response = early
                break
            }
            entered += 1
        }
        while entered > 0 {
            entered -= 1
            syncSteps[entered]._withUnsafeGuaranteedRef { leave($0, request, &response) }
        }
        return response
    }

    /// The synchronous path of a chain with a scope: each layer's rest
    /// runs inside the layer (a scope is a call that the rest runs in).
    private func runSyncNested(_ i: Int, _ request: inout Request) -> Response {
        guard i < syncSteps.count else { return runSyncEndpoint(request) }
        return syncSteps[i]._withUnsafeGuaranteedRef { step in
            if let early = before(step, &request) { return early }
            let entered = request
            var response = step.withScope(entered) { runSyncNested(i + 1, &request) }
            leave(step, request, &response)
            return response
        }
    }

    private func before(_ step: SyncStep, _ request: inout Request) -> Response? {
        do { return try step.before(&request) } catch { return errors.answer(error, request) }
    }

    private func runSyncEndpoint(_ request: Request) -> Response {
        guard case .sync(let handler) = endpoint else { return errors.answer(HTTPError(.internalServerError), request) }
        do { return try handler(request) } catch { return errors.answer(error, request) }
    }

    private func leave(_ step: SyncStep, _ request: Request, _ response: inout Response) {
        do { try step.after(request, response: &response) } catch { response = errors.answer(error, request) }
    }

    /// Runs the synchronous `before`s in front of layer `stop` (and an
    /// async endpoint's extractors, when it is the first to await), then
    /// copies the request and goes on in a task.
    private func enterThenSuspend(_ view: Request, stop: Int) -> Response? {
        var request = view
        var entered = 0
        var early: Response?
        while entered < stop, case .sync(let step) = layers[entered] {
            do {
                if let answer = try step.before(&request) {
                    early = answer
                    break
                }
            } catch {
                early = errors.answer(error, request)
                break
            }
            entered += 1
        }
        var prepared: Prepared?
        if early == nil && stop == layers.count {
            do { prepared = try prepare(request) } catch { early = errors.answer(error, request) }
        }
        if var response = early {
            unwind(entered, request, &response)
            return response
        }
        let upgradesLater = endpoint.isWebSocket && prepared == nil
        guard
            let answer = AsyncAnswer(
                request, streamsBody: endpoint.streamsBody, webSocket: prepared?.upgrade, upgradesLater: upgradesLater)
        else {
            var response = errors.answer(HTTPError(.serviceUnavailable, "out of memory"), request)
            unwind(entered, request, &response)
            return response
        }
        let owned = Request(owning: request, writer: answer.writer)
        answer.run { [self, entered, prepared] in
            guard hasScopes else {
                var response = await runAsync(stop, owned, prepared, answer)
                unwind(entered, owned, &response)
                return response
            }
            return await resumeNested(0, entered, owned) { await runAsync(stop, owned, prepared, answer) }
        }
        return nil
    }

    /// In the task, the layers whose `before` ran on the worker: each one's
    /// scope entered again around the rest, then its `after`.
    nonisolated(nonsending) private func resumeNested(
        _ i: Int, _ entered: Int, _ request: Request, _ rest: nonisolated(nonsending) () async -> Response
    ) async -> Response {
        guard i < entered else { return await rest() }
        guard case .sync(let step) = layers[i] else { return await resumeNested(i + 1, entered, request, rest) }
        var response = await step.withScope(request) { await resumeNested(i + 1, entered, request, rest) }
        leave(step, request, &response)
        return response
    }

    /// The `after`s of the first `count` layers, innermost first (each
    /// inside the scopes of the layers around it).
    private func unwind(_ count: Int, _ request: Request, _ response: inout Response) {
        if hasScopes { return unwindNested(0, count, request, &response) }
        var i = count - 1
        while i >= 0 {
            if case .sync(let step) = layers[i] { leave(step, request, &response) }
            i -= 1
        }
    }

    private func unwindNested(_ i: Int, _ count: Int, _ request: Request, _ response: inout Response) {
        guard i < count, case .sync(let step) = layers[i] else { return }
        let inner = response
        response = step.withScope(request) {
            var r = inner
            unwindNested(i + 1, count, request, &r)
            return r
        }
        leave(step, request, &response)
    }

    // MARK: The async path

    nonisolated(nonsending) private func runAsync(_ i: Int, _ request: Request, _ prepared: Prepared?, _ answer: AsyncAnswer) async -> Response {
        guard i < layers.count else { return await runEndpoint(request, prepared, answer) }
        switch layers[i] {
        case .sync(let step):
            var request = request
            do {
                if let early = try step.before(&request) { return early }
            } catch {
                return errors.answer(error, request)
            }
            var response =
                step.isScoped
                ? await step.withScope(request) { await runAsync(i + 1, request, prepared, answer) }
                : await runAsync(i + 1, request, prepared, answer)
            leave(step, request, &response)
            return response
        case .async(let m):
            let next = Next { [self] request in await runAsync(i + 1, request, prepared, answer) }
            do { return try await m.handle(request, next: next) } catch { return errors.answer(error, request) }
        }
    }

    /// The extractors of an async endpoint; a WebSocket's upgrade, checked.
    private func prepare(_ request: Request) throws -> Prepared? {
        switch endpoint {
        case .async(let extract): .body(try extract(request))
        case .streamingBody(let extract): .stream(try extract(request))
        case .webSocket(let options, _): .webSocket(try Prepared.upgrade(request, options).get())
        case .sync: nil
        }
    }

    nonisolated(nonsending) private func runEndpoint(_ request: Request, _ prepared: Prepared?, _ answer: AsyncAnswer) async -> Response {
        let response = await runEndpointUntimed(request, prepared, answer)
        // Past the deadline, what a handler answers anyway is not sent: the
        // deadline's 503 is (through the middleware, as any error answer).
        if answer.timedOut { return errors.answer(CancellationError(), request) }
        return response
    }

    nonisolated(nonsending) private func runEndpointUntimed(_ request: Request, _ prepared: Prepared?, _ answer: AsyncAnswer) async -> Response {
        do {
            switch endpoint {
            case .sync(let handler):
                return try handler(request)
            case .webSocket(let options, let handler):
                if answer.webSocketUpgrade == nil {
                    // A middleware in front awaited: the upgrade is checked
                    // and accepted now, on the worker, in this task.
                    let upgrade = try Prepared.upgrade(request, options).get()
                    guard answer.acceptLate(upgrade) else { throw CancellationError() }  // the client left
                }
                return await answer.runWebSocket(request, handler)
            case .async, .streamingBody:
                switch try prepared ?? prepare(request) {
                case .body(let body)?:
                    return try await body(request)
                case .stream(let body)?:
                    guard let stream = answer.bodyStream else { throw HTTPError(.internalServerError) }
                    return try await body(request, stream)
                case .webSocket?, nil:
                    throw HTTPError(.internalServerError)
                }
            }
        } catch {
            return errors.answer(error, request)
        }
    }
}
