internal import CChopinCore

/// One route parameter: where its value sits in the request path.
struct ParamSpan {
    var start: UInt32 = 0
    var count: UInt32 = 0
}

/// Route parameters of a matched request, kept inline: matching a route
/// allocates nothing.
struct RouteParams {
    static let capacity = 8
    var spans = InlineArray<8, ParamSpan>(repeating: ParamSpan())
    var count = 0
    // Whether the last is a `*wildcard` is the matched route's to say.
    // The names stay with the matched route (Context.paramName): an array
    // here made every Context a value to retain, copy and release.
}

/// The request a handler is answering, and the means to answer it.
///
/// A `Context` is a view over the server's own buffers, valid only while the
/// handler runs: nothing is copied until a handler asks (`path`, `header(_:)`,
/// `param(_:)` make Strings; `body` does not). Do not keep it after returning.
public struct Context {
    let request: UnsafePointer<chopin_request>
    let response: ResponseWriter
    var params: RouteParams
    /// The route that matched. unowned(unsafe), so that naming it costs no
    /// reference count per request: routes live in the frozen tree, which the
    /// server (or the test router) keeps for longer than any handler call, and
    /// a Context is valid only during that call.
    unowned(unsafe) var matched: Route?
    /// The route pattern that matched, for logs ("/user/:id").
    public var route: String { matched?.pattern ?? "" }
    /// The i-th route parameter's name, for error messages.
    func paramName(_ i: Int) -> String? {
        guard let names = matched?.paramNames, i < names.count else { return nil }
        return names[i]
    }
    /// The body a middleware put in place of the one that arrived
    /// (``RequestDecompression``'s inflated bytes), for the rest of the chain.
    var replacedBody: UnsafeRawBufferPointer?

    init(request: UnsafePointer<chopin_request>, response: ResponseWriter) {
        self.request = request
        self.response = response
        self.params = RouteParams()
        self.matched = nil
        self.replacedBody = nil
    }

    /// The context of a request routed by `tree`, with what the route
    /// lookup found, made in the caller's constant: one copy fewer than a
    /// var filled in and then consumed into a constant, whose copy read the
    /// bytes back in wider pieces than the lookup had written them, which
    /// the CPU could not forward (a stall).
    init(request: UnsafePointer<chopin_request>, response: ResponseWriter, routedBy tree: RouteTree, found: inout RouteTree.Lookup) {
        self.init(request: request, response: response)
        found = tree.lookup(&self)
    }

    /// The request method.
    public var method: Method {
        switch request.pointee.method {
        case CHOPIN_METHOD_GET: return .get
        case CHOPIN_METHOD_HEAD: return .head
        case CHOPIN_METHOD_POST: return .post
        case CHOPIN_METHOD_PUT: return .put
        case CHOPIN_METHOD_DELETE: return .delete
        case CHOPIN_METHOD_PATCH: return .patch
        case CHOPIN_METHOD_OPTIONS: return .options
        default: return Method(String(slice: request.pointee.method_name))
        }
    }

    /// The path, without the query, as sent (percent-encoded).
    public var path: String { String(slice: request.pointee.path) }

    /// The raw query string, without the "?".
    public var query: String { String(slice: request.pointee.query) }

    /// The path's bytes, without a copy.
    public var pathBytes: UnsafeRawBufferPointer { request.pointee.path.bytes }

    /// The query's bytes, without a copy.
    public var queryBytes: UnsafeRawBufferPointer { request.pointee.query.bytes }

    /// The body's bytes, without a copy (empty when there is none).
    public var body: UnsafeRawBufferPointer { replacedBody ?? request.pointee.body.bytes }

    /// Every header, in the order sent, names as sent: a view over the
    /// request, nothing is copied until an element is read.
    ///
    /// ```swift
    /// for (name, value) in ctx.headers where name.lowercased().hasPrefix("x-") { ... }
    /// ```
    public var headers: Headers { Headers(request: request) }

    /// The HTTP version of the request line.
    public var version: HTTPVersion { HTTPVersion(major: 1, minor: Int(request.pointee.version_minor)) }

    /// The client's address and port, recorded when its connection was
    /// accepted (behind a reverse proxy: the proxy's).
    public var peer: PeerAddress? { response.peer }

    /// The value of a header, found case-insensitively; nil when absent.
    public func header(_ name: String) -> String? {
        let found = name.withUTF8Bytes { n in
            n.withMemoryRebound(to: CChar.self) { chopin_request_header(request, $0.baseAddress, $0.count) }
        }
        guard let found else { return nil }
        return String(slice: found.pointee.value)
    }

    /// A route parameter by name, percent-decoded exactly once; nil when the
    /// route has no parameter of that name.
    ///
    /// A malformed escape (`%4`, `%ZZ`) or escapes that decode to bytes that
    /// are not UTF-8 throw an ``ExtractionError`` that answers 400 naming the
    /// parameter. A `*wildcard` is decoded as a whole and nothing more: `%2F`
    /// becomes `/` and `..` stays, so never join it to a directory; take a
    /// ``RelativePath`` for that.
    public func param(_ name: String) throws(ExtractionError) -> String? {
        guard let i = matched?.paramNames.firstIndex(of: name), i < params.count else { return nil }
        return try decodedParam(i)
    }

    /// The i-th route parameter, decoded once (see ``param(_:)``).
    func decodedParam(_ i: Int) throws(ExtractionError) -> String {
        try PercentDecoding.string(paramBytes(i), field: paramName(i))
    }

    /// Calls `body` with the i-th route parameter's decoded bytes, copied
    /// only when it holds an escape.
    func withDecodedParam<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) throws(ExtractionError) -> R {
        try PercentDecoding.withDecodedBytes(paramBytes(i), field: paramName(i), body)
    }

    /// The raw (still percent-encoded) bytes of the i-th route parameter.
    func paramBytes(_ i: Int) -> UnsafeRawBufferPointer {
        let span = params.spans[i]
        let path = pathBytes
        return UnsafeRawBufferPointer(rebasing: path[Int(span.start)..<Int(span.start + span.count)])
    }

    /// Serializes value as JSON straight into the response.
    ///
    /// Types that adopt ``JSONEncodable`` are written without any heap
    /// allocation; any other `Encodable` goes through a streaming `Encoder`.
    /// A value JSON cannot represent (a NaN, say) becomes a 500.
    public func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        writeJSON(status) { w in try w.encode(value) }
    }

    /// Serializes a value with its own JSON (`@JSON`, ``JSONValueEncodable``)
    /// straight into the response, without any heap allocation.
    // Chosen at compile time over the Encodable overload, so the type needs
    // no runtime conformance check (a cache lookup of about 200
    // instructions on every request).
    public func json<T: JSONValueEncodable & Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        // writeJSON writes one complete value: nothing is left open to close.
        writeJSON(status) { w in try value.writeJSON(to: &w) }
    }

    @inline(__always)
    private func writeJSON(_ status: HTTPStatus, _ encode: (inout JSONWriter) throws -> Void) -> Response {
        response.start(status, constantType: "application/json")
        var writer = JSONWriter(response: response)
        do {
            try encode(&writer)
            writer.finish()
        } catch {
            writer.finish()
            response.discard()
            logError("JSON encoding failed on \(route): \(error)")
            return Response(status: .internalServerError)
        }
        response.end()
        return Response(status: status, contentType: nil, body: .written)  // middleware sees the status sent
    }
}

extension Context {
    /// The request's headers, in the order sent: a random-access collection
    /// of `(name, value)` pairs over the server's buffer, valid only while
    /// the handler runs (as its ``Context``). Reading an element makes its
    /// two Strings.
    public struct Headers: RandomAccessCollection {
        let request: UnsafePointer<chopin_request>

        /// 0.
        public var startIndex: Int { 0 }
        /// How many headers the request has.
        public var endIndex: Int { request.pointee.header_count }

        /// The i-th header's name, as sent, and value.
        public subscript(i: Int) -> (name: String, value: String) {
            precondition(i >= 0 && i < endIndex, "header index out of range")
            let h = request.pointee.headers[i]
            return (String(slice: h.name), String(slice: h.value))
        }
    }
}

extension chopin_slice {
    var bytes: UnsafeRawBufferPointer {
        guard let ptr, len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: ptr, count: len)
    }
}

extension String {
    init(slice: chopin_slice) {
        self.init(decoding: slice.bytes, as: UTF8.self)
    }
}
