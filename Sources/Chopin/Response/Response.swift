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
        /// The connection became a WebSocket: its 101 is out already.
        case upgraded
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
    /// Extra headers. Content-Length and Transfer-Encoding are the
    /// server's to write: set here, they are dropped (and logged).
    /// `Connection: close` asks for the close (as ``closesConnection``); any
    /// other Connection value is dropped. A name that is not a token or a
    /// value with a control character (CR, LF...) makes the answer a 500,
    /// logged with the header's name: never a split response.
    public var headers: [(name: String, value: String)]
    @usableFromInline var body: Body
    /// Whether the connection closes once this answer is sent
    /// (`Connection: close`); false unless set or the client asked for it.
    public var closesConnection = false

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

    /// This response, asking for the connection to close after it.
    public func closingConnection() -> Response {
        var copy = self
        copy.closesConnection = true
        return copy
    }

    static let written = Response(status: .ok, contentType: nil, body: .written)

    /// `value` as JSON (application/json), serialized into the response's
    /// own bytes: for async handlers, which have no connection buffer to
    /// write into (a synchronous handler's `ctx.json(_:status:)` is
    /// faster). A value JSON cannot represent becomes a 500.
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        encodingJSON(status) { try $0.encode(value) }
    }

    /// A value with its own JSON (`@JSON`, ``JSONValueEncodable``) as JSON,
    /// chosen at compile time: no runtime conformance check per response.
    public static func json<T: JSONValueEncodable & Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        encodingJSON(status) { try value.writeJSON(to: &$0) }  // one complete value: nothing left open
    }

    /// The JSON `write` makes, as a response (``JSON``'s stack-first
    /// encoding: one allocation for a document that fits, not two).
    @inline(__always)
    private static func encodingJSON(_ status: HTTPStatus, _ write: (inout JSONWriter) throws -> Void) -> Response {
        do {
            let bytes = try JSON.bytes(write)
            return Response(status: status, constantType: "application/json", body: .bytes(bytes))
        } catch {
            logError("JSON encoding failed: \(error)")
            return Response(status: .internalServerError)
        }
    }
}

extension Response {
    /// Writes this response through the C writer.
    func write(to res: ResponseWriter) {
        if closesConnection { res.close() }
        // One switch over the borrowed body: matching it case by case, and
        // binding the text as a var, copied it (a retain and release a request).
        switch body {
        case .written:
            // Written in place by ctx.json; middleware may have added headers since.
            if !headers.isEmpty {
                guard let checked = checkedHeaders(res) else { return }
                for h in checked { res.lateHeader(h.name, h.value) }
            }
        case .upgraded:
            break
        case .stream:
            logError("a streamed response needs an async handler")
            res.start(.internalServerError)
            res.end()
        case .empty:
            guard writeHead(to: res) else { return }
            res.end()
        case .text(let text):
            if case .constant(let type) = contentTypeValue, headers.isEmpty {
                // Response.text as it was made: one call into the core.
                text.withUTF8Bytes { res.whole(status, constantType: type, UnsafeRawBufferPointer($0)) }
                return
            }
            guard writeHead(to: res) else { return }
            text.withUTF8Bytes { res.write(UnsafeRawBufferPointer($0)) }
            res.end()
        case .bytes(let bytes):
            guard writeHead(to: res) else { return }
            bytes.withUnsafeBytes { res.write($0) }
            res.end()
        }
    }

    /// The status line and headers; false when a header made it a 500 instead.
    private func writeHead(to res: ResponseWriter) -> Bool {
        // Asked first: iterating even an empty array retains and releases it.
        if headers.isEmpty {
            res.start(status)
            res.contentType(contentTypeValue)
            return true
        }
        guard let checked = checkedHeaders(res) else { return false }
        res.start(status)
        res.contentType(contentTypeValue)
        for h in checked { res.header(h.name, h.value) }
        return true
    }

    /// The headers the writer may take, the framing ones handled (see
    /// ``headers``); nil, with a 500 written and the reason logged, when
    /// one cannot be sent at all.
    private func checkedHeaders(_ res: ResponseWriter) -> [(name: String, value: String)]? {
        var kept = headers
        var i = 0
        while i < kept.count {
            let (name, value) = kept[i]
            switch HeaderCheck.judge(name, value) {
            case .fine:
                i += 1
                continue
            case .invalid(let why):
                logError("response header \(name.debugDescription) \(why): answered 500 instead")
                res.start(.internalServerError)
                res.end()
                return nil
            case .closeRequest:
                res.close()
            case .framing:
                logError("response header \(name) dropped: the server writes the framing headers itself")
            }
            kept.remove(at: i)
        }
        return kept
    }
}
