/// An error a handler or middleware throws to answer with a given status
/// instead of 500, through the router's error answers (``ErrorReport``).
///
/// ```swift
/// guard let user = users[id] else { throw HTTPError(.notFound, "no user \(id)") }
/// throw HTTPError(.unauthorized, headers: [("WWW-Authenticate", "Bearer")])
/// ```
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The status the client gets.
    public let status: HTTPStatus
    /// What went wrong, for the client (the default error answer's `"error"`);
    /// empty to say the status's reason phrase.
    public let message: String
    /// Headers the error answer carries (`WWW-Authenticate`, `Retry-After`, `Allow`).
    public let headers: [(name: String, value: String)]

    /// An error answered with `status`, `message` and `headers`.
    public init(_ status: HTTPStatus, _ message: String = "", headers: [(name: String, value: String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// "HTTP 404: message", for logs.
    public var description: String { "HTTP \(status.code): \(message)" }
}
