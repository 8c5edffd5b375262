public import Chopin

/// A response as the client received it: status, headers in order, and
/// the body with its framing (Content-Length, chunked or the close) undone.
public struct TestResponse: Sendable {
    /// The status line's code.
    public let status: HTTPStatus
    /// Every header, in the order sent, names as sent.
    public let headers: [(name: String, value: String)]
    /// The body's bytes (empty for HEAD, 204 and 304).
    public let body: [UInt8]

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The value of the first header named `name` (case-insensitively); nil when absent.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Every value of the headers named `name`, in order.
    public func headers(named name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The body decoded from JSON with Chopin's decoder.
    public func json<T: Decodable>(_ type: T.Type) throws -> T {
        try JSON.decode(type, from: body)
    }
}
