/// What a handler returns: a status, headers and a body, written straight
/// into the connection's output buffer.
///
/// ```swift
/// router.get("/plaintext") { _ in .text("Hello, World!") }
/// router.get("/gone") { _ in Response(status: .notFound) }
/// ```
public struct Response: Sendable {
    @usableFromInline
    enum Body: Sendable {
        case empty
        case text(String)
        case bytes([UInt8])
        /// Already serialized into the output buffer (ctx.json).
        case written
        /// An async handler answers later (``Context/runAsync(_:)``).
        case deferred(AsyncCall)
        /// Written piece by piece by an async handler (``Response/stream(contentType:status:_:)``).
        case stream(@Sendable (ResponseStream) async throws -> Void)
    }

    /// A Content-Type: one of the server's own constants (`.text`, `.json`),
    /// written without a String to count references of or check, or one
    /// given as a String.
    @usableFromInline
    enum ContentTypeValue: Sendable {
        case none
        case constant(StaticString)
        case given(String)
    }

    /// The status line's code.
    public var status: HTTPStatus
    /// The Content-Type header, when the body has one.
    public var contentType: String? {
        get {
            switch contentTypeValue {
            case .none: nil
            case .constant(let s): s.description
            case .given(let s): s
            }
        }
        set { contentTypeValue = newValue.map { .given($0) } ?? .none }
    }
    @usableFromInline var contentTypeValue: ContentTypeValue
    /// Extra headers. Content-Length, Transfer-Encoding and Connection are the server's.
    public var headers: [(name: String, value: String)]
    @usableFromInline var body: Body

    /// An empty response with a status and extra headers.
    public init(status: HTTPStatus = .ok, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.contentTypeValue = .none
        self.headers = headers
        self.body = .empty
    }

    init(status: HTTPStatus, contentType: String?, body: Body) {
        self.status = status
        self.contentTypeValue = contentType.map { .given($0) } ?? .none
        self.headers = []
        self.body = body
    }

    @inlinable
    init(status: HTTPStatus, constantType: StaticString, body: Body) {
        self.status = status
        self.contentTypeValue = .constant(constantType)
        self.headers = []
        self.body = body
    }

    /// A text/plain response.
    // Inlinable: built straight into the handler's result, not into a
    // temporary copied there (a copy whose reads the CPU stalled on).
    @inlinable
    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, constantType: "text/plain; charset=utf-8", body: .text(text))
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

    /// `value` as JSON (application/json), serialized into the response's
    /// own bytes: for async handlers, which have no connection buffer to
    /// write into (a synchronous handler's `ctx.json(_:status:)` is
    /// faster). A value JSON cannot represent becomes a 500.
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        var writer = JSONWriter()
        do {
            try writer.encode(value)
        } catch {
            logError("JSON encoding failed: \(error)")
            return Response(status: .internalServerError)
        }
        return Response(status: status, constantType: "application/json", body: .bytes(writer.bytes))
    }

    /// A value with its own JSON (`@JSON`, ``JSONValueEncodable``) as JSON,
    /// chosen at compile time: no runtime conformance check per response.
    public static func json<T: JSONValueEncodable & Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        var writer = JSONWriter()
        do {
            try value.writeJSON(to: &writer)  // one complete value: nothing left open
        } catch {
            logError("JSON encoding failed: \(error)")
            return Response(status: .internalServerError)
        }
        return Response(status: status, constantType: "application/json", body: .bytes(writer.bytes))
    }
}

extension Response {
    /// Writes this response through the C writer.
    func write(to res: ResponseWriter) {
        // One switch over the borrowed body: matching it case by case, and
        // binding the text as a var, copied it (a retain and release a request).
        switch body {
        case .written:
            // Written in place by ctx.json; middleware may have added headers since.
            if !headers.isEmpty { for h in headers { res.lateHeader(h.name, h.value) } }
        case .deferred(let call):
            // The async handler's task writes the response; it adds these.
            call.middlewareHeaders.withLock { $0 = headers }
        case .stream:
            logError("a streamed response needs an async handler")
            res.start(.internalServerError)
            res.end()
        case .empty:
            writeHead(to: res)
            res.end()
        case .text(let text):
            if case .constant(let type) = contentTypeValue, headers.isEmpty {
                // Response.text as it was made: one call into the core.
                text.withUTF8Bytes { res.whole(status, constantType: type, UnsafeRawBufferPointer($0)) }
                return
            }
            writeHead(to: res)
            text.withUTF8Bytes { res.write(UnsafeRawBufferPointer($0)) }
            res.end()
        case .bytes(let bytes):
            writeHead(to: res)
            bytes.withUnsafeBytes { res.write($0) }
            res.end()
        }
    }

    private func writeHead(to res: ResponseWriter) {
        res.start(status)
        res.contentType(contentTypeValue)
        // Asked first: iterating even an empty array retains and releases it.
        if !headers.isEmpty { for h in headers { res.header(h.name, h.value) } }
    }
}
