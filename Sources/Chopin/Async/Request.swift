internal import CChopinCore

/// The request an async handler answers: an owned copy, valid for as long
/// as the handler keeps it (a ``Context`` is a view that ends when a
/// synchronous handler returns).
///
/// The request line, the headers and the body are copied once, in one
/// block; Strings are made only when a property is read.
///
/// ```swift
/// router.get("/todos/:id") { (req: Request, id: Path<Int>) async throws -> Response in
///     let todo = try await db.todo(id.value)
///     return .json(todo)
/// }
/// ```
public struct Request: Sendable {
    /// Where a piece sits in `bytes`.
    struct Span: Sendable {
        var start: Int32
        var count: Int32
        /// "/", not in `bytes`.
        static let root = Span(start: -1, count: 1)
    }

    /// Request line, headers and body, as they arrived (a chunked body decoded).
    let bytes: [UInt8]
    let methodSpan: Span
    let pathSpan: Span
    let querySpan: Span
    let bodySpan: Span
    let headerSpans: [(name: Span, value: Span)]
    let paramNames: [String]
    let paramSpans: [Span]
    /// The request method.
    public let method: Method
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public let versionMinor: Int
    /// The client's address and port, recorded when its connection was
    /// accepted (behind a reverse proxy: the proxy's).
    public let peer: PeerAddress?
    /// The route pattern that matched ("/todos/:id").
    public let route: String

    /// Copies what `ctx` views (on the worker, before the handler's task starts).
    init(copying ctx: Context) {
        let r = ctx.request.pointee
        // The head and the body sit one after the other in the connection's
        // buffer, from the method's first byte to the body's last (the core
        // points an empty body at the end of the head). A body a middleware
        // replaced (inflated) is copied in after the head instead.
        var first: UnsafeRawPointer?
        var total = 0
        if let m = r.method_name.ptr, let b = r.body.ptr {
            first = UnsafeRawPointer(m)
            total = max(UnsafeRawPointer(b) + r.body.len - UnsafeRawPointer(m), 0)
        }
        var bytes = [UInt8](UnsafeRawBufferPointer(start: first, count: total))
        var replacedBody: Span?
        if let replaced = ctx.replacedBody {
            total = max(total - r.body.len, 0)
            bytes.removeLast(bytes.count - total)
            replacedBody = Span(start: Int32(total), count: Int32(replaced.count))
            bytes.append(contentsOf: replaced)
        }
        self.bytes = bytes
        func span(_ s: chopin_slice) -> Span {
            guard let p = s.ptr, let first, s.len > 0 else { return Span(start: 0, count: 0) }
            let offset = UnsafeRawPointer(p) - first
            // Only the path "/" of an absolute-form target without one lives elsewhere.
            guard offset >= 0 && offset + s.len <= total else { return Span.root }
            return Span(start: Int32(offset), count: Int32(s.len))
        }
        methodSpan = span(r.method_name)
        pathSpan = span(r.path)
        querySpan = span(r.query)
        bodySpan = replacedBody ?? span(r.body)
        var headers: [(name: Span, value: Span)] = []
        headers.reserveCapacity(r.header_count)
        for i in 0..<r.header_count {
            let h = r.headers[i]
            headers.append((span(h.name), span(h.value)))
        }
        headerSpans = headers
        paramNames = Array((ctx.matched?.paramNames ?? []).prefix(ctx.params.count))
        var params: [Span] = []
        for i in 0..<ctx.params.count {
            let p = ctx.params.spans[i]
            params.append(Span(start: pathSpan.start + Int32(p.start), count: Int32(p.count)))
        }
        paramSpans = params
        method = ctx.method
        versionMinor = Int(r.version_minor)
        peer = ctx.peer
        route = ctx.route
    }

    private func string(_ s: Span) -> String {
        if s.start < 0 { return "/" }
        return bytes.withUnsafeBytes { String(decoding: $0[Int(s.start)..<Int(s.start + s.count)], as: UTF8.self) }
    }

    /// The HTTP version of the request line.
    public var version: HTTPVersion { HTTPVersion(major: 1, minor: versionMinor) }

    /// The path, without the query, as sent (percent-encoded).
    public var path: String { string(pathSpan) }

    /// The raw query string, without the "?".
    public var query: String { string(querySpan) }

    /// The body (empty when there is none).
    public var body: ArraySlice<UInt8> { bytes[Int(bodySpan.start)..<Int(bodySpan.start + bodySpan.count)] }

    /// Every header, in the order sent, names as sent.
    public var headers: [(name: String, value: String)] {
        headerSpans.map { (string($0.name), string($0.value)) }
    }

    /// The value of a header, found case-insensitively; nil when absent.
    public func header(_ name: String) -> String? {
        let wanted = Array(name.utf8)
        return bytes.withUnsafeBytes { all -> String? in
            for h in headerSpans where Int(h.name.count) == wanted.count {
                var same = true
                for i in 0..<wanted.count where asciiLower(all[Int(h.name.start) + i]) != asciiLower(wanted[i]) {
                    same = false
                    break
                }
                if same { return string(h.value) }
            }
            return nil
        }
    }

    /// A route parameter by name, percent-decoded exactly once (as
    /// ``Context/param(_:)``); nil when the route has none of that name.
    public func param(_ name: String) throws(ExtractionError) -> String? {
        guard let i = paramNames.firstIndex(of: name) else { return nil }
        let s = paramSpans[i]
        let decoded = bytes.withUnsafeBytes { all in
            Result { () throws(ExtractionError) -> String in
                try PercentDecoding.string(
                    UnsafeRawBufferPointer(rebasing: all[Int(s.start)..<Int(s.start + s.count)]), field: name)
            }
        }
        return try decoded.get()
    }
}

private func asciiLower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c | 0x20 : c }
