internal import CChopinCore
import Synchronization

/// What the core delivers to a handler's task, waiting in order: request
/// body chunks (``BodyChannel``) or WebSocket messages (``MessageChannel``).
/// The core pushes on the worker thread; the handler's task takes with
/// ``next()``, usually on the same thread. Past `highWater` bytes waiting,
/// ``push(_:size:)`` says to stop reading, and taking the queue down to a
/// quarter of it lets the core read again.
final class PieceQueue<Element: Sendable>: Sendable {
    private enum End {
        case finished
        case failed(any Error)
    }

    private struct State {
        /// Waiting from `first` on; taken ones are nil (their memory goes back at once).
        var ready: [(element: Element, size: Int)?] = []
        var first = 0
        var buffered = 0
        var end: End?
        var waiter: CheckedContinuation<Element?, any Error>?
        /// The core was told to stop reading.
        var paused = false
        /// The deferral is finished: nothing may call into it any more.
        var deferralDone = false
    }

    private let state = Mutex(State())
    private let deferral: Deferral
    private let executor: WorkerExecutor
    private let highWater: Int

    init(deferral: Deferral, executor: WorkerExecutor, highWater: Int) {
        self.deferral = deferral
        self.executor = executor
        self.highWater = highWater
    }

    /// Everything there is, at once (a body that came whole with its head):
    /// the core reads nothing more, so nothing pauses.
    func fillAndFinish(with element: Element, size: Int) {
        state.withLock {
            $0.ready.append((element, size))
            $0.buffered = size
            $0.end = .finished
        }
    }

    /// One element from the core (worker thread). Returns true when the
    /// core should stop reading until the handler catches up.
    func push(_ element: Element, size: Int) -> Bool {
        let (waiter, pause) = state.withLock { s -> (CheckedContinuation<Element?, any Error>?, Bool) in
            if let w = s.waiter {
                s.waiter = nil
                return (w, false)
            }
            s.ready.append((element, size))
            s.buffered += size
            if s.buffered > highWater { s.paused = true }
            return (nil, s.paused)
        }
        waiter?.resume(returning: element)
        return pause
    }

    /// Nothing more comes: ``next()`` answers nil once the queue is empty,
    /// or throws `error`.
    func finish(throwing error: (any Error)? = nil) {
        let end: End = error.map { .failed($0) } ?? .finished
        let waiter = state.withLock { s in
            s.end = end
            defer { s.waiter = nil }
            return s.waiter
        }
        if let waiter { Self.resume(waiter, with: end) }
    }

    private enum Step {
        case element(Element, resumeReads: Bool)
        case end(End)
        case wait
    }

    /// Takes what is ready: the oldest element, else the end, else nothing.
    private func take(_ s: inout State) -> Step {
        if s.first < s.ready.count {
            guard let (element, size) = s.ready[s.first] else { preconditionFailure("taken twice") }
            s.ready[s.first] = nil
            s.first += 1
            if s.first == s.ready.count {
                s.ready.removeAll(keepingCapacity: true)
                s.first = 0
            } else if s.first >= 64 && s.first * 2 >= s.ready.count {
                // A queue that never quite empties: drop the taken slots.
                s.ready.removeFirst(s.first)
                s.first = 0
            }
            s.buffered -= size
            let resume = s.paused && s.buffered <= highWater / 4
            if resume { s.paused = false }
            return .element(element, resumeReads: resume)
        }
        if let end = s.end { return .end(end) }
        return .wait
    }

    func next() async throws -> Element? {
        switch state.withLock({ take(&$0) }) {
        case .element(let element, let resumeReads):
            if resumeReads { self.resumeReads() }
            return element
        case .end(let end):
            if case .failed(let error) = end { throw error }
            return nil
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<Element?, any Error>) in
                    // An element or the end may have come in between: look again.
                    let step = state.withLock { s -> Step in
                        let step = take(&s)
                        if case .wait = step { s.waiter = c }
                        return step
                    }
                    switch step {
                    case .element(let element, let resumeReads):
                        if resumeReads { self.resumeReads() }
                        c.resume(returning: element)
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
    /// deferral: elsewhere (a handler that took its stream to another
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

    private static func resume(_ waiter: CheckedContinuation<Element?, any Error>, with end: End) {
        switch end {
        case .failed(let error): waiter.resume(throwing: error)
        case .finished: waiter.resume(returning: nil)
        }
    }
}
