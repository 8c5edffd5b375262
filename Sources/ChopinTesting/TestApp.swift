@_spi(Testing) public import Chopin
public import Logging

/// A `Router` served for a test: in process (the default) or on a live
/// port, with the server's own pipeline, middleware, error answers, async
/// handlers and limits in both modes.
///
/// ```swift
/// import ChopinTesting
/// import Testing
///
/// @Test func greets() throws {
///     let router = Router()
///     router.get("/hello/:name") { req in .text("hello \(try req.param("name") ?? "")") }
///     let app = try TestApp(router)
///     defer { app.stop() }
///     let response = try app.get("/hello/ada")
///     #expect(response.status == .ok && response.text == "hello ada")
/// }
/// ```
///
/// In process, no address is bound: each connection is a socket pair
/// handed straight to a worker, so tests run in parallel without ports and
/// see exactly what a client would. ``Mode-swift.enum/live`` listens on
/// 127.0.0.1 at a free port (``port``) for clients of your own (a browser,
/// `curl`, another library). A request has no peer address in process
/// (`Request.peer` is nil).
public final class TestApp: Sendable {
    /// How the router is served.
    public enum Mode: Sendable {
        /// Worker threads that bind nothing; connections come from the test.
        case inProcess
        /// A server on 127.0.0.1 at a free port.
        case live
    }

    /// How this app is served.
    public let mode: Mode
    /// The running server (its counters, its backend).
    public let server: RunningServer

    /// Serves `router` with one worker thread and `configure`'s changes
    /// to the default configuration (host and port are the mode's); the
    /// server's lines go to `logger` when one is given.
    public init(
        _ router: Router, mode: Mode = .inProcess, logger: Logger? = nil,
        configure: (inout Configuration) -> Void = { _ in }
    ) throws {
        var configuration = Configuration(host: "127.0.0.1", port: 0)
        configuration.workers = 1
        configuration.drainMilliseconds = 0  // a test's server stops at once; configure may say otherwise
        configure(&configuration)
        configuration.host = "127.0.0.1"
        configuration.port = 0
        self.mode = mode
        var server = Server(configuration: configuration)
        if let logger { server.logger = logger }
        self.server = mode == .live ? try server.start(router) : try server.startInProcess(router)
    }

    /// The port a live app listens on (nil in process).
    public var port: UInt16? { mode == .live ? server.port : nil }

    /// A new connection to the app, for several requests on one
    /// connection, pipelining, or raw bytes.
    public func connect() throws -> TestConnection {
        switch mode {
        case .inProcess: TestConnection(fd: try server.connectInProcess())
        case .live: try TestConnection(port: server.port)
        }
    }

    /// One request on a connection of its own; its response.
    public func request(
        _ method: Method, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) throws -> TestResponse {
        let connection = try connect()
        defer { connection.close() }
        return try connection.request(method, target, headers: headers, body: body)
    }

    /// `GET target`.
    public func get(_ target: String, headers: [(name: String, value: String)] = []) throws -> TestResponse {
        try request(.get, target, headers: headers)
    }

    /// `POST target` with `body` as UTF-8 (`Content-Type` from `contentType` unless headers name one).
    public func post(
        _ target: String, headers: [(name: String, value: String)] = [], body: String,
        contentType: String = "application/json"
    ) throws -> TestResponse {
        var headers = headers
        if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headers.append(("Content-Type", contentType))
        }
        return try request(.post, target, headers: headers, body: Array(body.utf8))
    }

    /// Stops the server gracefully (requests in flight finish). Also done
    /// when the app is released.
    public func stop() { server.stop() }
}
