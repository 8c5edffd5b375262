import Chopin

/// The example's files and its compressed routes:
///
///     GET  /assets/*         Examples/public/ (index.html at /assets/), or the
///                            directory chopin-example's --assets names: cached for
///                            five minutes, css/site.css.gz sent for css/site.css to
///                            clients that take gzip, dotfiles 404, /assets/css 301
///                            to /assets/css/
///     GET  /large.json       60 World rows (a few KB), gzip or deflate when the client accepts it
///     POST /inflate          a body sent with Content-Encoding gzip or deflate, answered
///                            inflated (up to 1 MiB inflated: 413 past it)
func addAssetRoutes(to router: Router, assets: String) {
    router.files("/assets", directory: assets, cacheControl: "public, max-age=300", precompressed: true)
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

/// The example's own assets, `Examples/public`, found from where this file
/// was compiled, so the example serves them from any working directory.
public let exampleAssetsDirectory: String = {
    var path = "\(#filePath)"
    for _ in 0..<2 {  // AssetRoutes.swift, then ChopinExampleRoutes/
        guard let slash = path.lastIndex(of: "/") else { return "public" }
        path = String(path[..<slash])
    }
    return path + "/public"
}()
