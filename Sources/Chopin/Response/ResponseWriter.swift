internal import CChopinCore

/// The C core's response writer for one request, as Swift holds it: the
/// only place that calls `chopin_response_*`, so the writer's rules (start
/// once, headers before the body, Content-Length and Connection are the
/// core's) are kept in one file.
///
/// A struct of the bare pointer, not a class: copying it into a `Context`
/// or a `JSONWriter` costs nothing and retains nothing on the hot path.
/// Valid only while the C core's handler call runs.
struct ResponseWriter {
    private let res: OpaquePointer

    init(_ res: OpaquePointer) { self.res = res }

    /// The index of the worker answering (for logs).
    var workerID: UInt32 { chopin_response_worker_id(res) }

    /// Counts an answer of route number `route` in this worker's cells (``RouteMetrics``).
    func recordRoute(_ route: UInt32, status: Int, nanoseconds: UInt64) {
        chopin_response_record_route(res, route, Int32(clamping: status), nanoseconds)
    }

    /// Starts the response over with `status`. Whatever was written before
    /// (by a handler that then threw, say) is dropped first: the C writer
    /// takes one status line per response.
    func start(_ status: HTTPStatus) {
        if chopin_response_status(res) != 0 { chopin_response_discard(res) }
        chopin_response_start(res, Int32(clamping: status.code))
    }

    /// Adds a header after the status line, before any body byte.
    func header(_ name: String, _ value: String) {
        withHeaderBytes(name, value) { chopin_response_header(res, $0, $1, $2, $3) }
    }

    /// Adds a Content-Type that is a constant of the server's own
    /// (`Response.text`'s, `ctx.json`'s): written as it is, not judged per
    /// response as a handler's header is.
    func contentType(constant value: StaticString) {
        chopin_response_content_type_constant(res, value.cString, value.utf8CodeUnitCount)
    }

    /// The status line and a Content-Type constant of the server's own in
    /// one call into the core (`start(_:)` then `contentType(constant:)`).
    func start(_ status: HTTPStatus, constantType: StaticString) {
        chopin_response_start_typed(
            res, Int32(clamping: status.code), constantType.cString, constantType.utf8CodeUnitCount)
    }

    /// A whole response in one call into the core: a status, a Content-Type
    /// constant of the server's own and the body.
    func whole(_ status: HTTPStatus, constantType: StaticString, _ body: UnsafeRawBufferPointer) {
        chopin_response_whole(
            res, Int32(clamping: status.code), constantType.cString, constantType.utf8CodeUnitCount,
            body.baseAddress, body.count)
    }

    /// Writes a response's Content-Type, if it has one.
    func contentType(_ value: Response.ContentTypeValue) {
        switch value {
        case .none: break
        case .constant(let type): contentType(constant: type)
        case .given(let type): header("Content-Type", type)
        }
    }

    /// Adds a header to a response already ended: middleware decorating
    /// what `ctx.json` wrote in place. The C writer moves the body up.
    func lateHeader(_ name: String, _ value: String) {
        withHeaderBytes(name, value) { chopin_response_header_late(res, $0, $1, $2, $3) }
    }

    /// Room for at least `count` body bytes in the output buffer, valid until
    /// the next call on this response; nil when memory runs out (the C
    /// writer has then marked the response failed: it becomes a 500).
    func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8>? {
        chopin_response_reserve(res, count).map {
            UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt8.self)
        }
    }

    /// Declares that `count` bytes of the last reserved room are body.
    func commit(_ count: Int) { chopin_response_commit(res, count) }

    /// Appends body bytes.
    func write(_ bytes: UnsafeRawBufferPointer) { chopin_response_write(res, bytes.baseAddress, bytes.count) }

    /// Finishes the head (Content-Length, Connection) and places the body after it.
    func end() { chopin_response_end(res) }

    /// Ends the response with `length` bytes of the open file `fd` from
    /// `offset` as its body, sent by the C core without a copy where the
    /// backend allows; the core owns `fd` from now on and closes it.
    func file(_ fd: Int32, offset: UInt64, length: UInt64) { chopin_response_file(res, fd, offset, length) }

    /// Lets the C core compress this response's body when it ends (see
    /// ``Compression``): `coding` nil only marks it as varying by
    /// Accept-Encoding.
    func compress(_ coding: ContentCoding?, minimumSize: Int, required: Bool) {
        let encoding: Int32 =
            switch coding {
            case .gzip: Int32(CHOPIN_ENCODING_GZIP)
            case .deflate: Int32(CHOPIN_ENCODING_DEFLATE)
            case nil: Int32(CHOPIN_ENCODING_IDENTITY)
            }
        chopin_response_compress(res, encoding, UInt32(clamping: minimumSize), required ? 1 : 0)
    }

    /// Asks for the connection to close after this response.
    func close() { chopin_response_close(res) }

    /// Drops everything written so far, so that an error can be answered instead.
    func discard() { chopin_response_discard(res) }

    /// Records the request's method and route in the worker's shared slot
    /// while its handler runs (App.handle), so that the supervisor can name
    /// the route if the handler traps and the worker process dies. A few
    /// stores (the name is copied only when it differs from the last one
    /// recorded). `route` must stay put, unchanged, while the server runs (a
    /// Route's own copy of its pattern). An async handler's record is
    /// AsyncAnswer's: begun when its response is deferred, ended by its task.
    func recordHandling(_ request: UnsafePointer<chopin_request>, route: UnsafeBufferPointer<CChar>) {
        chopin_response_handling_static(res, request, route.baseAddress, route.count)
    }

    /// The handler returned: the slot no longer names a route.
    func recordHandled() { chopin_response_handled(res) }

    /// Defers the response: the C core answers it once the returned
    /// deferral is finished (from any thread). nil when out of memory.
    func deferToLater() -> OpaquePointer? { chopin_response_defer(res) }

    /// The executor of the worker answering this request (nil for a
    /// deferred response's own writer, or without the worker hooks).
    var workerExecutor: WorkerExecutor? {
        guard let state = chopin_response_worker_state(res) else { return nil }
        return Unmanaged<WorkerExecutor>.fromOpaque(state).takeUnretainedValue()
    }

    /// The client's address, recorded at accept (nil for a deferred
    /// response's own writer).
    var peer: PeerAddress? {
        var p = chopin_peer()
        guard chopin_response_peer(res, &p) == 0 else { return nil }
        return PeerAddress(p)
    }
}

/// Hands a header's name and value to a C writer function without copying.
private func withHeaderBytes(
    _ name: String, _ value: String,
    _ body: (UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int) -> Void
) {
    name.withUTF8Bytes { n in
        value.withUTF8Bytes { v in
            n.withMemoryRebound(to: CChar.self) { n in
                v.withMemoryRebound(to: CChar.self) { v in body(n.baseAddress, n.count, v.baseAddress, v.count) }
            }
        }
    }
}

extension StaticString {
    /// The constant's bytes for a C call (a StaticString always has a pointer).
    fileprivate var cString: UnsafePointer<CChar> {
        UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
