internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#endif

/// The bodies of the answers the C core gives on its own, before a request
/// is routed (a malformed request, a head or body over its limit, a
/// timeout), rendered once at start by the router's renderer, so that every
/// error answer of the server has the same format. The renderer gets a
/// stand-in request (`GET /`): there is no routed request to give it. Only
/// its Content-Type and body are used.
final class CoreErrorBodies: @unchecked Sendable {
    // @unchecked: written once in init, then only read (by every worker).
    struct Body {
        let type: UnsafeMutablePointer<CChar>?
        let bytes: UnsafeMutableRawBufferPointer
    }

    /// The statuses the core answers with by itself.
    static let statuses: [Int32] = [400, 408, 413, 414, 417, 431, 501, 505]
    private var bodies: [Int32: Body] = [:]

    init(_ renderer: ErrorRenderer) {
        guard let standIn = Self.standInRequest() else { return }
        for status in Self.statuses {
            let answer = renderer(ErrorReport(HTTPError(HTTPStatus(Int(status)))), standIn)
            let bytes: [UInt8]
            switch answer.body {
            case .text(let text): bytes = Array(text.utf8)
            case .bytes(let b): bytes = b
            default: bytes = []
            }
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            copy.copyBytes(from: bytes)
            bodies[status] = Body(
                type: answer.contentType.map { strdup($0) } ?? nil,
                bytes: UnsafeMutableRawBufferPointer(rebasing: copy[0..<bytes.count]))
        }
    }

    deinit {
        for body in bodies.values {
            free(body.type)
            body.bytes.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() }
        }
    }

    func body(_ status: Int32) -> Body? { bodies[status] }

    /// `GET /`, parsed and owned: what the renderer reads for these answers.
    /// Its writer is never written to (the renderer's answer is a value);
    /// it stands on the request's own memory only to be a pointer.
    private static func standInRequest() -> Request? {
        try? withParsedHead("GET / HTTP/1.1\r\nHost: chopin\r\n\r\n") { head in
            let owned = OwnedRequest(copying: head, body: UnsafeRawBufferPointer(start: nil, count: 0), peer: nil)
            return Request(owned: owned, writer: ResponseWriter(OpaquePointer(owned.block)))
        }
    }
}
