internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#endif

/// Accepts request bodies sent compressed (`Content-Encoding: gzip` or
/// `deflate`) on the routes it covers, and hands handlers the inflated
/// bytes: `router.use(RequestDecompression())`, or on a group.
///
/// ```swift
/// router.group("/api") { api in
///     api.use(RequestDecompression(maxSize: 4 << 20))
///     api.post("/events") { ctx in .text("\(ctx.body.count) bytes\n") }
/// }
/// ```
///
/// Handlers see the inflated body through ``Request/body`` and the
/// extractors (``Json``), and async handlers through ``Request/body``; the
/// request's own `Content-Encoding` and `Content-Length` headers still say
/// what arrived. A body without `Content-Encoding` (or with `identity`)
/// passes as it is, and so does an empty body whatever its coding: SDKs send
/// `Content-Encoding: gzip` on a GET with no body, which is no body.
///
/// - A body that inflates past `maxSize` bytes is refused with 413 as soon
///   as it crosses the limit, so a zip bomb costs at most `maxSize` of
///   memory, never its inflated size.
/// - Data that is not valid for its coding (corrupt, cut short, bytes after
///   its end) is 400.
/// - Any other coding, or several codings stacked, is 415 with
///   `Accept-Encoding: gzip, deflate` saying what is accepted (RFC 9110
///   section 15.5.16).
///
/// The compressed body is still bounded first by
/// ``Configuration/maxBody``. A route that takes its body as a stream
/// (``RequestBodyStream``) gets its pieces as they were sent.
public struct RequestDecompression: SyncMiddleware {
    /// The largest body accepted once inflated, in bytes.
    public let maxSize: Int

    /// - Parameter maxSize: the largest inflated body, in bytes (default
    ///   8 MiB, at most 1 GiB; a negative value is taken as 0).
    public init(maxSize: Int = 8 << 20) {
        self.maxSize = min(max(maxSize, 0), 1 << 30)
    }

    /// Inflates a compressed body before the rest of the chain runs.
    public func before(_ request: inout Request) throws -> Response? {
        guard let coding = request.header("Content-Encoding"), request.head.pointee.body_streamed == 0,
            !request.body.isEmpty
        else { return nil }
        // The parser trimmed the value's surrounding spaces already.
        let name = coding.lowercased()
        let encoding: Int32
        switch name {
        case "", "identity": return nil
        case "gzip", "x-gzip": encoding = Int32(CHOPIN_ENCODING_GZIP)
        case "deflate": encoding = Int32(CHOPIN_ENCODING_DEFLATE)
        default: throw Self.unsupported(coding)
        }
        // A second Content-Encoding field stacks another coding on this one.
        if request.headers.lazy.filter({ $0.name.lowercased() == "content-encoding" }).count > 1 {
            throw Self.unsupported("several")
        }
        var inflated: UnsafeMutableRawPointer?
        var length = 0
        let body = request.body
        let rc = chopin_inflate_body(encoding, body.baseAddress, body.count, maxSize, &inflated, &length)
        switch rc {
        case Int32(CHOPIN_INFLATE_OK):
            // Held by the request (and any copy of it) for the rest of the chain.
            request.uniqueExtras().replacedBody = OwnedBytes(taking: inflated, count: length)
            return nil
        case Int32(CHOPIN_INFLATE_TOO_LARGE):
            free(inflated)
            throw HTTPError(.payloadTooLarge, "the body inflates to more than \(maxSize) bytes")
        case Int32(CHOPIN_INFLATE_CORRUPT):
            free(inflated)
            throw HTTPError(.badRequest, "the body is not valid \(name) data")
        default:
            free(inflated)
            throw HTTPError(.serviceUnavailable, "out of memory inflating the body")
        }
    }

    private static func unsupported(_ coding: String) -> HTTPError {
        HTTPError(
            .unsupportedMediaType, "content coding \(coding) is not accepted: gzip or deflate",
            headers: [("Accept-Encoding", "gzip, deflate")])
    }
}
