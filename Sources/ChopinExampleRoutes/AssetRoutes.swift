import Chopin

/// The example's files and its compressed routes:
///
///     GET  /assets/*         public/ (index.html at /assets/), from the working directory
///     GET  /large.json       60 World rows (a few KB), gzip or deflate when the client accepts it
///     POST /inflate          a body sent with Content-Encoding gzip or deflate, answered
///                            inflated (up to 1 MiB inflated: 413 past it)
func addAssetRoutes(to router: Router) {
    router.files("/assets", directory: "public")
    router.group("") { compressed in
        compressed.use(Compression())
        compressed.get("/large.json") { ctx in ctx.json(largeRows) }
    }
    router.group("") { inflated in
        inflated.use(RequestDecompression(maxSize: 1 << 20))
        inflated.post("/inflate") { ctx in
            .bytes(Array(ctx.body), contentType: ctx.header("Content-Type") ?? "application/octet-stream")
        }
    }
}

/// A few KB of JSON, the same on every request.
private let largeRows: [LargeRow] = (1...60).map { LargeRow(id: $0, randomNumber: ($0 &* 7919) % 10_000) }

struct LargeRow: Codable, Sendable {
    let id: Int
    let randomNumber: Int
}
