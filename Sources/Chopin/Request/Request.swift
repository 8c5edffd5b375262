internal import CChopinCore

/// One route parameter: where its value sits in the request path.
struct ParamSpan {
    var start: UInt32 = 0
    var count: UInt32 = 0
}

/// Route parameters of a matched request, kept in the parsed request's own
/// memory (`chopin_request.route`), not in each ``Request``: a Request of
/// four words passes in registers, where one holding the spans was copied
/// into memory at every call that took it. Matching a route allocates nothing.
typealias RouteParams = chopin_route_params

extension RouteParams {
    static let capacity = Int(CHOPIN_ROUTE_PARAMS_MAX)
    // Whether the last is a `*wildcard` is the matched route's to say; the
    // names stay with the matched route (Request.paramName).

    /// How many are set.
    var count: Int {
        get { Int(used) }
        set { used = UInt32(newValue) }
    }

    /// The i-th span, 0..<capacity.
    func span(_ i: Int) -> ParamSpan {
        precondition(i >= 0 && i < Self.capacity, "route parameter index out of range")
        return withUnsafeBytes(of: spans) { $0.load(fromByteOffset: i &* MemoryLayout<ParamSpan>.stride, as: ParamSpan.self) }
    }

    /// Sets the i-th span, 0..<capacity.
    mutating func set(_ i: Int, _ span: ParamSpan) {
        precondition(i >= 0 && i < Self.capacity, "route parameter index out of range")
        withUnsafeMutableBytes(of: &spans) {
            $0.storeBytes(of: span, toByteOffset: i &* MemoryLayout<ParamSpan>.stride, as: ParamSpan.self)
        }
    }
}

/// The request being answered: what every handler, middleware and
/// extractor reads, synchronous or async.
///
/// On the synchronous path a `Request` is a view over the server's own
/// buffers: nothing is copied until a handler asks (`path`, `header(_:)`,
/// `param(_:)` make Strings; `body` and the `…Bytes` accessors do not).
/// Where the pipeline first awaits (an async middleware or handler), the
/// request is copied once into memory of its own, and from then on it may
/// be kept, sent to other tasks and read for as long as anyone holds it.
/// A view must not outlive the synchronous call it was given to: to keep
/// one past it, take ``owned()``.
///
/// ```swift
/// router.get("/hello/:name") { (req: Request) in
///     .text("hello \(try req.param("name") ?? "")")
/// }
/// router.get("/todos/:id") { (req: Request, id: Path<Int>) async throws -> Response in
///     .json(try await db.todo(id.value))
/// }
/// ```
public struct Request: @unchecked Sendable {
    // @unchecked: a view's pointers are only read on the worker thread that
    // made it, within the call it was given to (the rule above); an owned
    // request's memory is immutable and kept alive by `extras`.

    /// The parsed request: the connection's, or the owned copy's.
    let head: UnsafePointer<chopin_request>
    /// Where this request's answer is written: the connection's response
    /// (a view), or the deferred answer's (an owned request).
    let writer: ResponseWriter
    /// The route that matched, unmanaged, so that naming it costs no
    /// reference count per request: routes live in the frozen tree, which
    /// the server keeps for longer than any request.
    var matchedRoute: Unmanaged<Route>?
    /// The route that matched.
    var matched: Route? { matchedRoute?.takeUnretainedValue() }
    /// The owned copy, a replaced body and the storage; nil (nothing to
    /// count references of) for a plain view.
    var extras: RequestExtras?

    /// The route parameters the router found (in the parsed request).
    var params: RouteParams { head.pointee.route }

    /// Whether this request owns its memory (see the type's description).
    public var isOwned: Bool {
        guard let extras else { return false }  // the synchronous path: no reference to count
        return extras.owned != nil
    }

    /// The route pattern that matched ("/user/:id"); empty when none did.
    public var route: String { matched?.pattern ?? "" }

    /// The i-th route parameter's name, for error messages.
    func paramName(_ i: Int) -> String? {
        guard let names = matched?.paramNames, i < names.count else { return nil }
        return names[i]
    }

    /// The request method.
    public var method: Method {
        switch head.pointee.method {
        case CHOPIN_METHOD_GET: return .get
        case CHOPIN_METHOD_HEAD: return .head
        case CHOPIN_METHOD_POST: return .post
        case CHOPIN_METHOD_PUT: return .put
        case CHOPIN_METHOD_DELETE: return .delete
        case CHOPIN_METHOD_PATCH: return .patch
        case CHOPIN_METHOD_OPTIONS: return .options
        default: return Method(String(slice: head.pointee.method_name))
        }
    }

    /// The path, without the query, as sent (percent-encoded).
    public var path: String { String(slice: head.pointee.path) }

    /// The raw query string, without the "?".
    public var query: String { String(slice: head.pointee.query) }

    /// The path's bytes, without a copy.
    public var pathBytes: UnsafeRawBufferPointer { head.pointee.path.bytes }

    /// The query's bytes, without a copy.
    public var queryBytes: UnsafeRawBufferPointer { head.pointee.query.bytes }

    /// The body's bytes, without a copy (empty when there is none), valid
    /// while this request is (for a view: while its handler runs).
    public var body: UnsafeRawBufferPointer {
        if let replaced = extras?.replacedBody { return replaced.bytes }
        return head.pointee.body.bytes
    }

    /// Every header, in the order sent, names as sent: nothing is copied
    /// until an element is read.
    ///
    /// ```swift
    /// for (name, value) in req.headers where name.lowercased().hasPrefix("x-") { ... }
    /// ```
    public var headers: Headers { Headers(head: head, keeper: extras) }

    /// The HTTP version of the request line.
    public var version: HTTPVersion { HTTPVersion(major: 1, minor: Int(head.pointee.version_minor)) }

    /// The client's address and port, recorded when its connection was
    /// accepted (behind a reverse proxy: the proxy's).
    public var peer: PeerAddress? {
        if let owned = extras?.owned { return owned.peer }
        return writer.peer
    }

    /// The client's address: the ``peer``'s, or, when the peer is one of
    /// ``Configuration/trustedProxies``, the right-most address in
    /// ``Configuration/clientAddressHeader`` that is not a trusted proxy.
    /// A client that sends its own `X-Forwarded-For` to a trusted proxy
    /// cannot choose what this says: its entries sit left of what the
    /// proxy appended. nil when the peer is unknown.
    public var clientAddress: IPAddress? {
        guard let peer = peer?.address else { return nil }
        return proxies.client(of: peer, self)
    }

    /// The server's trusted proxies.
    var proxies: TrustedProxies {
        if let owned = extras?.owned { return owned.proxies }
        return writer.workerExecutor?.proxies ?? .none
    }

    /// The value of a header, found case-insensitively; nil when absent.
    /// Bytes that are not UTF-8 (obs-text, which RFC 9110 allows) read as
    /// U+FFFD here: ``headerBytes(_:_:)`` gives them as they came.
    public func header(_ name: String) -> String? {
        guard let found = findHeader(name) else { return nil }
        return String(slice: found.pointee.value)
    }

    /// Calls `body` with the value of a header (found case-insensitively)
    /// as its bytes, exactly as sent; nil when absent.
    public func headerBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let found = findHeader(name) else { return nil }
        return try body(found.pointee.value.bytes)
    }

    private func findHeader(_ name: String) -> UnsafePointer<chopin_header>? {
        name.withUTF8Bytes { n in
            n.withMemoryRebound(to: CChar.self) { chopin_request_header(head, $0.baseAddress, $0.count) }
        }
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
        let span = params.span(i)
        let path = pathBytes
        return UnsafeRawBufferPointer(rebasing: path[Int(span.start)..<Int(span.start + span.count)])
    }

    /// Values that middleware put here for later middleware and the
    /// handler (``RequestStorage``); empty, and free, until one is set.
    ///
    /// ```swift
    /// var request = request
    /// request.storage[User.self] = user
    /// return try await next(request)
    /// ```
    public var storage: RequestStorage {
        get { extras?.storage ?? RequestStorage() }
        set { uniqueExtras().storage = newValue }
    }

    /// This request with memory of its own (itself when it has it already):
    /// for a synchronous handler that hands the request to a task.
    public func owned() -> Request {
        if isOwned { return self }
        return Request(owning: self, writer: writer)
    }

    /// The extras, made or copied so that this request alone holds them.
    mutating func uniqueExtras() -> RequestExtras {
        if let extras, isKnownUniquelyReferenced(&self.extras) { return extras }
        let fresh = extras?.copy() ?? RequestExtras()
        extras = fresh
        return fresh
    }

    /// Serializes value as JSON: on the synchronous path straight into the
    /// connection's output, without any heap allocation for types that
    /// adopt ``JSONEncodable``; on an owned request into the response's
    /// own bytes (as ``Response/json(_:status:)-8hre5``).
    /// A value JSON cannot represent (a NaN, say) becomes a 500.
    public func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        if isOwned { return .json(value, status: status) }
        return writeJSON(status) { w in try w.encode(value) }
    }

    /// Serializes a value with its own JSON (`@JSON`, ``JSONValueEncodable``),
    /// as ``json(_:status:)-11m4o`` does.
    // Chosen at compile time over the Encodable overload, so the type needs
    // no runtime conformance check (a cache lookup of about 200
    // instructions on every request).
    public func json<T: JSONValueEncodable & Encodable>(_ value: T, status: HTTPStatus = .ok) -> Response {
        if isOwned { return .json(value, status: status) }
        // writeJSON writes one complete value: nothing is left open to close.
        return writeJSON(status) { w in try value.writeJSON(to: &w) }
    }

    @inline(__always)
    private func writeJSON(_ status: HTTPStatus, _ encode: (inout JSONWriter) throws -> Void) -> Response {
        writer.start(status, constantType: "application/json")
        var json = JSONWriter(response: writer)
        do {
            try encode(&json)
            json.finish()
        } catch {
            json.finish()
            writer.discard()
            logError("JSON encoding failed on \(route): \(error)")
            return Response(status: .internalServerError)
        }
        writer.end()
        return Response(status: status, contentType: nil, body: .written)  // middleware sees the status sent
    }
}

// The initializers live here, outside the type, so that Swift still makes
// the memberwise one, which they call: a value built field by field in an
// initializer of the type's own was built aside and then copied out, an
// outlined copy and destroy (a reference count each) per request.
extension Request {
    init(head: UnsafePointer<chopin_request>, writer: ResponseWriter) {
        self.init(head: head, writer: writer, matchedRoute: nil, extras: nil)
    }

    /// The request of a call routed to `matched` (nil when no route took
    /// it), its parameters already in `head` (RouteTree.route put them there).
    init(head: UnsafePointer<chopin_request>, writer: ResponseWriter, matched: Unmanaged<Route>?) {
        self.init(head: head, writer: writer, matchedRoute: matched, extras: nil)
    }
}

/// The name requests had when synchronous handlers and async ones took two
/// types: a synchronous handler's `(ctx: Context)` still compiles.
public typealias Context = Request

extension Request {
    /// The request's headers, in the order sent: a random-access collection
    /// of `(name, value)` pairs. Reading an element makes its two Strings;
    /// ``Request/headerBytes(_:_:)`` reads a value as bytes.
    public struct Headers: RandomAccessCollection {
        let head: UnsafePointer<chopin_request>
        /// Keeps an owned request's memory alive while the collection is read.
        let keeper: RequestExtras?

        /// 0.
        public var startIndex: Int { 0 }
        /// How many headers the request has.
        public var endIndex: Int { head.pointee.header_count }

        /// The i-th header's name, as sent, and value.
        public subscript(i: Int) -> (name: String, value: String) {
            precondition(i >= 0 && i < endIndex, "header index out of range")
            let h = head.pointee.headers[i]
            return (String(slice: h.name), String(slice: h.value))
        }

        /// Calls `body` with the i-th header's name and value as their
        /// bytes, exactly as sent (obs-text included), without a copy.
        public func withBytes<R>(
            at i: Int, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> R
        ) rethrows -> R {
            precondition(i >= 0 && i < endIndex, "header index out of range")
            let h = head.pointee.headers[i]
            return try withExtendedLifetime(keeper) { try body(h.name.bytes, h.value.bytes) }
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
