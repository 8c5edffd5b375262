/// An HTTP status code.
///
/// ```swift
/// ctx.json(user, status: .created)
/// ```
public struct HTTPStatus: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// The three-digit code.
    public let code: Int

    /// A status from its three-digit code.
    public init(_ code: Int) { self.code = code }
    /// A status from an integer literal: `let teapot: HTTPStatus = 418`.
    public init(integerLiteral value: Int) { self.code = value }

    /// 200 OK.
    public static let ok: HTTPStatus = 200
    /// 201 Created.
    public static let created: HTTPStatus = 201
    /// 202 Accepted.
    public static let accepted: HTTPStatus = 202
    /// 204 No Content.
    public static let noContent: HTTPStatus = 204
    /// 301 Moved Permanently.
    public static let movedPermanently: HTTPStatus = 301
    /// 302 Found.
    public static let found: HTTPStatus = 302
    /// 304 Not Modified.
    public static let notModified: HTTPStatus = 304
    /// 400 Bad Request.
    public static let badRequest: HTTPStatus = 400
    /// 401 Unauthorized.
    public static let unauthorized: HTTPStatus = 401
    /// 403 Forbidden.
    public static let forbidden: HTTPStatus = 403
    /// 404 Not Found.
    public static let notFound: HTTPStatus = 404
    /// 405 Method Not Allowed.
    public static let methodNotAllowed: HTTPStatus = 405
    /// 409 Conflict.
    public static let conflict: HTTPStatus = 409
    /// 413 Content Too Large.
    public static let payloadTooLarge: HTTPStatus = 413
    /// 415 Unsupported Media Type.
    public static let unsupportedMediaType: HTTPStatus = 415
    /// 422 Unprocessable Content.
    public static let unprocessableContent: HTTPStatus = 422
    /// 429 Too Many Requests.
    public static let tooManyRequests: HTTPStatus = 429
    /// 500 Internal Server Error.
    public static let internalServerError: HTTPStatus = 500
    /// 501 Not Implemented.
    public static let notImplemented: HTTPStatus = 501
    /// 503 Service Unavailable.
    public static let serviceUnavailable: HTTPStatus = 503
}

/// An error a handler throws to answer with a given status instead of 500.
///
/// ```swift
/// guard let user = users[id] else { throw HTTPError(.notFound, "no user \(id)") }
/// ```
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The status the client gets.
    public let status: HTTPStatus
    /// Sent as `{"error": message}`; empty for no body.
    public let message: String

    /// An error answered with `status` and, unless `message` is empty, `{"error": message}`.
    public init(_ status: HTTPStatus, _ message: String = "") {
        self.status = status
        self.message = message
    }

    /// "HTTP 404: message", for logs.
    public var description: String { "HTTP \(status.code): \(message)" }
}
