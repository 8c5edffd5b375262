/// An HTTP status code.
///
/// ```swift
/// ctx.json(user, status: .created)
/// ```
public struct HTTPStatus: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// The three-digit code.
    public let code: Int

    /// A status from its three-digit code.
    @inlinable public init(_ code: Int) { self.code = code }
    /// A status from an integer literal: `let teapot: HTTPStatus = 418`.
    @inlinable public init(integerLiteral value: Int) { self.code = value }

    /// 200 OK.
    @inlinable public static var ok: HTTPStatus { 200 }
    /// 201 Created.
    @inlinable public static var created: HTTPStatus { 201 }
    /// 202 Accepted.
    @inlinable public static var accepted: HTTPStatus { 202 }
    /// 204 No Content.
    @inlinable public static var noContent: HTTPStatus { 204 }
    /// 301 Moved Permanently.
    @inlinable public static var movedPermanently: HTTPStatus { 301 }
    /// 302 Found.
    @inlinable public static var found: HTTPStatus { 302 }
    /// 304 Not Modified.
    @inlinable public static var notModified: HTTPStatus { 304 }
    /// 400 Bad Request.
    @inlinable public static var badRequest: HTTPStatus { 400 }
    /// 401 Unauthorized.
    @inlinable public static var unauthorized: HTTPStatus { 401 }
    /// 403 Forbidden.
    @inlinable public static var forbidden: HTTPStatus { 403 }
    /// 404 Not Found.
    @inlinable public static var notFound: HTTPStatus { 404 }
    /// 405 Method Not Allowed.
    @inlinable public static var methodNotAllowed: HTTPStatus { 405 }
    /// 409 Conflict.
    @inlinable public static var conflict: HTTPStatus { 409 }
    /// 413 Content Too Large.
    @inlinable public static var payloadTooLarge: HTTPStatus { 413 }
    /// 415 Unsupported Media Type.
    @inlinable public static var unsupportedMediaType: HTTPStatus { 415 }
    /// 422 Unprocessable Content.
    @inlinable public static var unprocessableContent: HTTPStatus { 422 }
    /// 429 Too Many Requests.
    @inlinable public static var tooManyRequests: HTTPStatus { 429 }
    /// 500 Internal Server Error.
    @inlinable public static var internalServerError: HTTPStatus { 500 }
    /// 501 Not Implemented.
    @inlinable public static var notImplemented: HTTPStatus { 501 }
    /// 503 Service Unavailable.
    @inlinable public static var serviceUnavailable: HTTPStatus { 503 }
}
