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
/// Handlers see the inflated body through ``Context/body`` and the
/// extractors (``Json``), and async handlers through ``Request/body``; the
/// request's own `Content-Encoding` and `Content-Length` headers still say
/// what arrived. A body without `Content-Encoding` (or with `identity`)
/// passes as it is.
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
public struct RequestDecompression: Middleware {
    /// The largest body accepted once inflated, in bytes.
    public let maxSize: Int

    /// - Parameter maxSize: the largest inflated body, in bytes (default
    ///   8 MiB, at most 1 GiB; a negative value is taken as 0).
    public init(maxSize: Int = 8 << 20) {
        self.maxSize = min(max(maxSize, 0), 1 << 30)
    }

    /// Inflates a compressed body before the rest of the chain runs.
    public func handle(_ ctx: Context, next: (Context) throws -> Response) throws -> Response {
        guard let coding = ctx.header("Content-Encoding"), ctx.request.pointee.body_streamed == 0 else {
            return try next(ctx)
        }
        // The parser trimmed the value's surrounding spaces already.
        let name = coding.lowercased()
        let encoding: Int32
        switch name {
        case "", "identity": return try next(ctx)
        case "gzip", "x-gzip": encoding = Int32(CHOPIN_ENCODING_GZIP)
        case "deflate": encoding = Int32(CHOPIN_ENCODING_DEFLATE)
        default: return Self.unsupported(coding)
        }
        // A second Content-Encoding field stacks another coding on this one.
        if ctx.headers.lazy.filter({ $0.name.lowercased() == "content-encoding" }).count > 1 {
            return Self.unsupported("several")
        }
        var inflated: UnsafeMutableRawPointer?
        var length = 0
        let body = ctx.body
        let rc = chopin_inflate_body(encoding, body.baseAddress, body.count, maxSize, &inflated, &length)
        defer { free(inflated) }
        switch rc {
        case Int32(CHOPIN_INFLATE_OK):
            var replaced = ctx
            replaced.replacedBody = UnsafeRawBufferPointer(start: inflated, count: length)
            return try next(replaced)
        case Int32(CHOPIN_INFLATE_TOO_LARGE):
            return ErrorAnswer(.payloadTooLarge, "the body inflates to more than \(maxSize) bytes").response
        case Int32(CHOPIN_INFLATE_CORRUPT):
            return ErrorAnswer(.badRequest, "the body is not valid \(name) data").response
        default:
            return ErrorAnswer(.serviceUnavailable, "out of memory inflating the body").response
        }
    }

    private static func unsupported(_ coding: String) -> Response {
        var answer = ErrorAnswer(.unsupportedMediaType, "content coding \(coding) is not accepted: gzip or deflate").response
        answer.headers.append((name: "Accept-Encoding", value: "gzip, deflate"))
        return answer
    }
}
