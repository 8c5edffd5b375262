/// Compresses responses with gzip or deflate when the client accepts it:
/// `router.use(Compression())`, or on a group for some routes only.
///
/// A response is compressed when its `Accept-Encoding` allows (q-values
/// honoured; gzip preferred on a tie), its Content-Type is compressible
/// (`text/*`, JSON, JavaScript, XML, SVG, `+json`, `+xml`), its body is at
/// least `minimumSize` bytes, it has no Content-Encoding of its own, it is
/// not a 206, and it gets smaller. Such responses carry
/// `Vary: Accept-Encoding` whether compressed or not, so caches keep them
/// apart. A client that refuses identity (`identity;q=0`) gets even a small
/// body compressed, or 406 when it accepts neither gzip nor deflate.
///
/// Whole bodies only: ``Response/text(_:status:)-(_,HTTPStatus)``, ``Response/bytes(_:contentType:status:)-(_,_,HTTPStatus)``,
/// `ctx.json(_:status:)` and async handlers' answers;
/// streams and files (``RouteRegistrar/files(_:directory:index:dotfiles:cacheControl:precompressed:)``) leave as they are.
public struct Compression: SyncMiddleware {
    /// Bodies smaller than this many bytes are sent as they are.
    public let minimumSize: Int

    /// - Parameter minimumSize: the threshold in bytes (default 1024:
    ///   below it, the gzip header and the CPU cost more than they save).
    public init(minimumSize: Int = 1024) {
        self.minimumSize = minimumSize
    }

    /// Decides from `Accept-Encoding`, then lets the core compress the
    /// response's body when the handler's response ends.
    public func before(_ request: inout Request) throws -> Response? {
        switch ContentCoding.choose(request.header("Accept-Encoding")) {
        case .notAcceptable:
            return Response(status: HTTPStatus(406))
        case .identity:
            request.writer.compress(nil, minimumSize: minimumSize, required: false)
        case .compress(let coding, let required):
            request.writer.compress(coding, minimumSize: minimumSize, required: required)
        }
        return nil
    }
}
