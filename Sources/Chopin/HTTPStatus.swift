/// An HTTP status code.
///
/// ```swift
/// ctx.json(user, status: .created)
/// ```
public struct HTTPStatus: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// The three-digit code.
    public let code: Int

    public init(_ code: Int) { self.code = code }
    public init(integerLiteral value: Int) { self.code = value }

    public static let ok: HTTPStatus = 200
    public static let created: HTTPStatus = 201
    public static let accepted: HTTPStatus = 202
    public static let noContent: HTTPStatus = 204
    public static let movedPermanently: HTTPStatus = 301
    public static let found: HTTPStatus = 302
    public static let notModified: HTTPStatus = 304
    public static let badRequest: HTTPStatus = 400
    public static let unauthorized: HTTPStatus = 401
    public static let forbidden: HTTPStatus = 403
    public static let notFound: HTTPStatus = 404
    public static let methodNotAllowed: HTTPStatus = 405
    public static let conflict: HTTPStatus = 409
    public static let payloadTooLarge: HTTPStatus = 413
    public static let unsupportedMediaType: HTTPStatus = 415
    public static let unprocessableContent: HTTPStatus = 422
    public static let tooManyRequests: HTTPStatus = 429
    public static let internalServerError: HTTPStatus = 500
    public static let notImplemented: HTTPStatus = 501
    public static let serviceUnavailable: HTTPStatus = 503
}

/// An error a handler throws to answer with a given status instead of 500.
///
/// ```swift
/// guard let user = users[id] else { throw HTTPError(.notFound, "no user \(id)") }
/// ```
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPStatus
    /// Sent as `{"error": message}`; empty for no body.
    public let message: String

    public init(_ status: HTTPStatus, _ message: String = "") {
        self.status = status
        self.message = message
    }

    public var description: String { "HTTP \(status.code): \(message)" }
}
