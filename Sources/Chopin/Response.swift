internal import CChopinCore

/// What a handler returns: a status, headers and a body, written straight
/// into the connection's output buffer.
///
/// ```swift
/// router.get("/plaintext") { _ in .text("Hello, World!") }
/// router.get("/gone") { _ in Response(status: .notFound) }
/// ```
public struct Response: Sendable {
    enum Body: Sendable {
        case empty
        case text(String)
        case bytes([UInt8])
        /// Already serialized into the output buffer (ctx.json).
        case written
    }

    public var status: HTTPStatus
    public var contentType: String?
    /// Extra headers. Content-Length, Transfer-Encoding and Connection are the server's.
    public var headers: [(name: String, value: String)]
    var body: Body

    public init(status: HTTPStatus = .ok, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.contentType = nil
        self.headers = headers
        self.body = .empty
    }

    init(status: HTTPStatus, contentType: String?, body: Body) {
        self.status = status
        self.contentType = contentType
        self.headers = []
        self.body = body
    }

    /// A text/plain response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", body: .text(text))
    }

    /// Raw bytes with a content type.
    public static func bytes(
        _ bytes: [UInt8], contentType: String = "application/octet-stream",
        status: HTTPStatus = .ok
    ) -> Response {
        Response(status: status, contentType: contentType, body: .bytes(bytes))
    }

    /// Adds a header and returns the response, for chaining.
    public func header(_ name: String, _ value: String) -> Response {
        var copy = self
        copy.headers.append((name, value))
        return copy
    }

    static let written = Response(status: .ok, contentType: nil, body: .written)
}

extension Response {
    /// Writes this response through the C writer.
    func write(to res: OpaquePointer) {
        if case .written = body {
            // Written in place by ctx.json; middleware may have added headers since.
            for h in headers { writeHeaderLate(res, h.name, h.value) }
            return
        }
        if chopin_response_status(res) != 0 { chopin_response_discard(res) }
        chopin_response_start(res, Int32(clamping: status.code))
        if let contentType { writeHeader(res, "Content-Type", contentType) }
        for h in headers { writeHeader(res, h.name, h.value) }
        switch body {
        case .empty, .written:
            break
        case .text(var text):
            text.withUTF8 { chopin_response_write(res, $0.baseAddress, $0.count) }
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { chopin_response_write(res, $0.baseAddress, $0.count) }
        }
        chopin_response_end(res)
    }
}

/// Hands a header's name and value to a C writer function without copying.
private func withHeaderBytes(
    _ name: String, _ value: String,
    _ body: (UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int) -> Void
) {
    var name = name
    var value = value
    name.withUTF8 { n in
        value.withUTF8 { v in
            n.withMemoryRebound(to: CChar.self) { n in
                v.withMemoryRebound(to: CChar.self) { v in body(n.baseAddress, n.count, v.baseAddress, v.count) }
            }
        }
    }
}

func writeHeader(_ res: OpaquePointer, _ name: String, _ value: String) {
    withHeaderBytes(name, value) { chopin_response_header(res, $0, $1, $2, $3) }
}

func writeHeaderLate(_ res: OpaquePointer, _ name: String, _ value: String) {
    withHeaderBytes(name, value) { chopin_response_header_late(res, $0, $1, $2, $3) }
}
