// openapi-floor N: what swift-openapi-runtime and the code swift-openapi-generator
// wrote cost per request on their own, with no server, socket or task around
// them: the example's `hello` operation (the /json body) called N times in one
// task, through a transport that only keeps the handlers. Its response body is
// collected, as any transport must. Prints nanoseconds per call; under
// callgrind, two runs (N and 3N) give instructions per call, the way
// `bench/run.sh instructions` counts a server's requests.
//
// Why: issue 25 asks for an OpenAPI route at most 1.3x the CPU of the same
// route written by hand. This is the part of that route no transport can
// make cheaper.
import ChopinExampleOpenAPI
import HTTPTypes
import OpenAPIRuntime
import Synchronization

typealias OperationHandler = @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)

/// A transport that keeps what the generated code registers, by "METHOD path".
final class KeepingTransport: ServerTransport, Sendable {
    let handlers = Mutex<[String: OperationHandler]>([:])

    func register(_ handler: @escaping OperationHandler, method: HTTPRequest.Method, path: String) throws {
        handlers.withLock { $0["\(method.rawValue) \(path)"] = handler }
    }
}

let calls = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 100_000
let transport = KeepingTransport()
try registerBookshelf(on: transport)
guard let hello = transport.handlers.withLock({ $0["GET /hello"] }) else {
    fatalError("openapi-floor: the example registered no GET /hello (registered: \(transport.handlers.withLock { Array($0.keys) }))")
}

// As the bench's client sends it (wrk and sequential_client.py: a Host and nothing else).
let request = HTTPRequest(method: .get, scheme: nil, authority: "bench", path: "/hello")
let metadata = ServerRequestMetadata(pathParameters: [:])

/// Runs jobs on the thread that calls `run`, one at a time, as a Chopin
/// worker runs its requests' tasks: with it as the task's executor
/// preference, the runtime's awaits stay on this thread (on the global
/// executor each hop could wake another thread: futexes, not the runtime's
/// own cost).
final class ThisThreadExecutor: TaskExecutor, Sendable {
    private let jobs = Mutex<[UnownedJob]>([])

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
    }

    /// Runs the jobs queued, and those they queue, until `done` says stop.
    func run(until done: () -> Bool) {
        while !done() {
            let batch = jobs.withLock { jobs in
                defer { jobs.removeAll(keepingCapacity: true) }
                return jobs
            }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}

/// What a run of the loop measured: the body bytes collected, and the time.
typealias Measured = (bytes: Int, elapsed: Duration)

/// What the loop gave, set once it ends.
final class Outcome: Sendable {
    let value = Mutex<Result<Measured, any Error>?>(nil)
}
let outcome = Outcome()
let executor = ThisThreadExecutor()
/// The loop: `calls` calls, each response body collected. Nonisolated
/// (top-level code is the main actor's, whose thread is busy running
/// `executor`), with what it uses passed in.
nonisolated func callHello(
    _ hello: OperationHandler, _ request: HTTPRequest, _ metadata: ServerRequestMetadata, _ calls: Int
) async throws -> Measured {
    var bytes = 0
    let elapsed = try await ContinuousClock().measure {
        for _ in 0..<calls {
            let (response, body) = try await hello(request, nil, metadata)
            guard response.status == .ok, let body else { fatalError("openapi-floor: hello answered \(response.status)") }
            bytes += try await ArraySlice(collecting: body, upTo: 1 << 20).count
        }
    }
    return (bytes, elapsed)
}

/// Starts the loop as a task on `executor`.
nonisolated func start(
    on executor: ThisThreadExecutor, _ hello: @escaping OperationHandler, _ request: HTTPRequest,
    _ metadata: ServerRequestMetadata, _ calls: Int,
    into outcome: Outcome
) {
    Task(executorPreference: executor) {
        let result: Result<Measured, any Error>
        do { result = .success(try await callHello(hello, request, metadata, calls)) } catch { result = .failure(error) }
        outcome.value.withLock { $0 = result }
    }
}

start(on: executor, hello, request, metadata, calls, into: outcome)
executor.run { outcome.value.withLock { $0 != nil } }
guard case .success(let (bytes, elapsed))? = outcome.value.withLock({ $0 }) else {
    fatalError("openapi-floor: \(String(describing: outcome.value.withLock { $0 }))")
}
let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("openapi-floor: \(calls) calls of GET /hello, \(bytes / max(calls, 1)) body bytes each, \(Int(ns / Double(max(calls, 1)))) ns per call")
