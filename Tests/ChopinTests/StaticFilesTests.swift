import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// A directory to serve, and things beside it that must never be served.
private struct FileTree {
    let base: String
    var root: String { base + "/public" }
    let big: [UInt8] = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) }

    init() {
        var template = Array("/tmp/chopin-files.XXXXXX".utf8CString)
        base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        mkdir(root, 0o755)
        mkdir(root + "/sub", 0o755)
        mkdir(base + "/outside", 0o755)
        mkdir(root + "/.git", 0o755)
        mkdir(root + "/docs", 0o755)
        write(root + "/docs/index.html", Array("<h1>docs</h1>".utf8))
        write(root + "/.env", Array("secret=1".utf8))
        write(root + "/.git/config", Array("secret".utf8))
        write(root + "/app.js", Array("console.log('plain')".utf8))
        write(root + "/app.js.gz", Array("gzip bytes".utf8))  // the server sends what is there
        write(root + "/app.js.br", Array("brotli bytes".utf8))
        write(root + "/only.css.gz", Array("only gzip".utf8))
        mkdir(root + "/trap.js.gz", 0o755)  // a sibling that is no regular file is passed over
        write(root + "/trap.js", Array("trap plain".utf8))
        mkfifo(root + "/fifo", 0o644)
        mkfifo(root + "/fifo.txt.gz", 0o644)
        write(root + "/fifo.txt", Array("beside a fifo".utf8))
        write(root + "/index.html", Array("<h1>home</h1>".utf8))
        write(root + "/a.txt", Array("hello, files".utf8))
        write(root + "/sub/b.css", Array("body{}".utf8))
        write(root + "/big.bin", big)
        write(base + "/secret.txt", Array("secret".utf8))
        write(base + "/outside/secret.txt", Array("secret".utf8))
        symlink(base + "/secret.txt", root + "/escape")
        symlink(base + "/outside", root + "/dirlink")
        symlink("a.txt", root + "/inside")
    }

    func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func remove() { _ = system("rm -rf '\(base)'") }
}

extension EndToEndTests {
    /// `router.files` over real sockets on both backends: types, validators,
    /// ranges, HEAD, the index, a 1 MB file, and a table of hostile paths
    /// that must never reach a file outside the directory.
    @Suite struct StaticFiles {
        private static func serve(_ tree: FileTree, _ backend: Backend) throws -> RunningServer {
            let router = Router()
            router.files("/assets", directory: tree.root)
            router.files("/cached", directory: tree.root, cacheControl: "public, max-age=60", precompressed: true)
            router.files("/open", directory: tree.root, dotfiles: .served)
            // Behind a middleware that awaits, the request is owned and the
            // answer deferred; its file is handed to the connection and sent
            // as any other (sendfile): the same rules apply.
            router.group("/owned") { g in
                g.use(Awaits())
                g.files("/cached", directory: tree.root, cacheControl: "no-cache", precompressed: true)
            }
            return try startServer(router, backend)
        }

        struct Awaits: Middleware {
            func handle(_ request: Request, next: Next) async throws -> Response {
                await Task.yield()
                return try await next(request)
            }
        }

        /// A FIFO (and a FIFO as a precompressed sibling) is 404 at once,
        /// not a worker stuck waiting for a writer; the worker serves on.
        @Test(arguments: backends) func onlyRegularFilesAreServed(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            #expect(try c.request("GET", "/assets/fifo").status == 404)
            #expect(try c.request("GET", "/cached/fifo").status == 404)
            let beside = try c.request("GET", "/cached/fifo.txt", headers: ["Accept-Encoding": "gzip"])
            #expect(beside.status == 200 && beside.text == "beside a fifo" && beside.header("Content-Encoding") == nil)
            let trap = try c.request("GET", "/cached/trap.js", headers: ["Accept-Encoding": "gzip"])
            #expect(trap.status == 200 && trap.text == "trap plain")
            #expect(try c.request("GET", "/owned/cached/fifo").status == 404)
            #expect(try c.request("GET", "/assets/a.txt").text == "hello, files")
        }

        @Test(arguments: backends) func dotfilesAreHiddenUnlessTheMountServesThem(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            for target in ["/assets/.env", "/assets/.git/config", "/assets/.git/", "/assets/sub/../.env",
                           "/cached/.env", "/owned/cached/.env", "/assets/%2eenv"] {
                let r = try c.request("GET", target)
                #expect(r.status == 404 && !r.text.contains("secret"), "\(target): \(r.status)")
            }
            #expect(try c.request("GET", "/open/.env").text == "secret=1")
            #expect(try c.request("GET", "/open/.git/config").text == "secret")
        }

        @Test(arguments: backends) func cacheControlOnEveryAnswerOfTheMount(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let whole = try c.request("GET", "/cached/a.txt")
            #expect(whole.status == 200 && whole.header("Cache-Control") == "public, max-age=60")
            let etag = try #require(whole.header("ETag"))
            let same = try c.request("GET", "/cached/a.txt", headers: ["If-None-Match": etag])
            #expect(same.status == 304 && same.header("Cache-Control") == "public, max-age=60")
            #expect(same.header("Vary") == "Accept-Encoding")
            let part = try c.request("GET", "/cached/a.txt", headers: ["Range": "bytes=0-4"])
            #expect(part.status == 206 && part.header("Cache-Control") == "public, max-age=60")
            #expect(try c.request("GET", "/owned/cached/a.txt").header("Cache-Control") == "no-cache")
            let plain = try c.request("GET", "/assets/a.txt")
            #expect(plain.header("Cache-Control") == nil && plain.header("Vary") == nil)
        }

        @Test(arguments: backends) func precompressedSiblingsWhenAccepted(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            for prefix in ["/cached", "/owned/cached"] {
                let cases: [(String?, String, String?)] = [
                    ("gzip, deflate, br", "brotli bytes", "br"),  // Brotli first
                    ("gzip", "gzip bytes", "gzip"),
                    ("br;q=0, gzip;q=0.5", "gzip bytes", "gzip"),
                    ("*", "brotli bytes", "br"),
                    ("gzip;q=0, br;q=0", "console.log('plain')", nil),
                    ("identity", "console.log('plain')", nil),
                    (nil, "console.log('plain')", nil),
                ]
                var etags: Set<String> = []
                for (accept, body, coding) in cases {
                    let r = try c.request("GET", prefix + "/app.js", headers: accept.map { ["Accept-Encoding": $0] } ?? [:])
                    let what = "\(prefix) \(accept ?? "none")"
                    #expect(r.status == 200 && r.text == body, "\(what): \(r.status) \(r.text)")
                    #expect(r.header("Content-Encoding") == coding, "\(what)")
                    #expect(r.header("Content-Type") == "text/javascript; charset=utf-8", "\(what)")
                    #expect(r.header("Vary") == "Accept-Encoding", "\(what)")
                    if let etag = r.header("ETag") { etags.insert(etag) }
                }
                #expect(etags.count == 3, "each variant its own ETag: \(etags)")
                #expect(etags.contains { $0.hasSuffix("-br\"") } && etags.contains { $0.hasSuffix("-gzip\"") })
                // Only the sibling exists: served to a client that takes it, 404 otherwise.
                let only = try c.request("GET", prefix + "/only.css", headers: ["Accept-Encoding": "gzip"])
                #expect(only.status == 200 && only.text == "only gzip" && only.header("Content-Encoding") == "gzip")
                let miss = try c.request("GET", prefix + "/only.css")
                #expect(miss.status == 404 && miss.header("Vary") == "Accept-Encoding", "a cache keeps this 404 apart")
            }
            // A mount without precompressed never looks for siblings.
            let off = try c.request("GET", "/assets/app.js", headers: ["Accept-Encoding": "br, gzip"])
            #expect(off.text == "console.log('plain')" && off.header("Content-Encoding") == nil)
        }

        @Test(arguments: backends) func aDirectoryWithoutItsSlashIsRedirected(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let cases = [
                ("/assets/docs", "/assets/docs/"), ("/assets/docs?v=2", "/assets/docs/?v=2"),
                ("/assets", "/assets/"), ("/assets/sub", "/assets/sub/"), ("/owned/cached/docs", "/owned/cached/docs/"),
            ]
            for (target, location) in cases {
                let r = try c.request("GET", target)
                #expect(r.status == 301 && r.header("Location") == location, "\(target): \(r.status) \(r.header("Location") ?? "-")")
            }
            #expect(try c.request("GET", "/assets/docs/").text == "<h1>docs</h1>")
            // A Location never names another host, whatever the path's slashes.
            let root = Router()
            root.files("/", directory: tree.root)
            let rootServer = try startServer(root, backend)
            defer { rootServer.stop() }
            let r = try TestClient(port: rootServer.port).request("GET", "//docs")
            #expect(r.status == 404 || (r.status == 301 && r.header("Location")?.hasPrefix("//") == false), "\(r.status) \(r.header("Location") ?? "-")")
        }

        @Test(arguments: backends) func filesTheirTypesAndTheIndex(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let a = try c.request("GET", "/assets/a.txt")
            #expect(a.status == 200 && a.text == "hello, files")
            #expect(a.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(a.header("Accept-Ranges") == "bytes")
            #expect(try c.request("GET", "/assets/sub/b.css").header("Content-Type") == "text/css; charset=utf-8")
            for target in ["/assets/", "/assets/sub/../"] {
                let index = try c.request("GET", target)
                #expect(index.status == 200 && index.text == "<h1>home</h1>", "\(target)")
                #expect(index.header("Content-Type") == "text/html; charset=utf-8")
            }
            #expect(try c.request("GET", "/assets/sub/").status == 404)  // a directory without an index
            #expect(try c.request("GET", "/assets/missing.txt").status == 404)
            let big = try c.request("GET", "/assets/big.bin")
            #expect(big.status == 200 && big.body == tree.big)
            #expect(big.header("Content-Type") == "application/octet-stream")
            // HEAD: no bytes (the next answer is read right after the head).
            try c.send("HEAD /assets/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try c.readHead().status == 200)  // its Content-Length: Tests/c/test_files.c
            #expect(try c.request("GET", "/assets/a.txt").text == "hello, files")
        }

        /// Behind a middleware that awaits, a file goes out after its
        /// deferred head as the worker's own do: whole, in part, for HEAD,
        /// and with pipelined requests behind it answered after it, in order.
        @Test(arguments: backends) func aFileBehindAMiddlewareThatAwaits(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let big = try c.request("GET", "/owned/cached/big.bin")
            #expect(big.status == 200 && big.body == tree.big && big.header("Cache-Control") == "no-cache")
            let mid = try c.request("GET", "/owned/cached/big.bin", headers: ["Range": "bytes=500000-599999"])
            #expect(mid.status == 206 && mid.body == Array(tree.big[500_000..<600_000]))
            try c.send("HEAD /owned/cached/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try c.readHead()
            #expect(head.status == 200 && head.header("Content-Length") == "\(tree.big.count)")
            // Three in one write: the file, a small one, the file again.
            try c.send(
                "GET /owned/cached/big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /owned/cached/a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /owned/cached/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try c.read().body == tree.big)
            #expect(try c.read().text == "hello, files")
            #expect(try c.read().body == tree.big)
            #expect(try c.request("GET", "/assets/a.txt").text == "hello, files")
        }

        @Test(arguments: backends) func validatorsAnswer304(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let first = try c.request("GET", "/assets/a.txt")
            let etag = try #require(first.header("ETag"))
            let modified = try #require(first.header("Last-Modified"))
            let same = try c.request("GET", "/assets/a.txt", headers: ["If-None-Match": etag])
            #expect(same.status == 304 && same.body.isEmpty && same.header("ETag") == etag)
            #expect(try c.request("GET", "/assets/a.txt", headers: ["If-None-Match": "\"x\", W/\(etag)"]).status == 304)
            #expect(try c.request("GET", "/assets/a.txt", headers: ["If-None-Match": "\"other\""]).status == 200)
            #expect(try c.request("GET", "/assets/a.txt", headers: ["If-Modified-Since": modified]).status == 304)
            let old = "Sun, 06 Nov 1994 08:49:37 GMT"
            #expect(try c.request("GET", "/assets/a.txt", headers: ["If-Modified-Since": old]).status == 200)
            // If-None-Match wins over If-Modified-Since.
            let both = ["If-None-Match": "\"other\"", "If-Modified-Since": modified]
            #expect(try c.request("GET", "/assets/a.txt", headers: both).status == 200)
        }

        @Test(arguments: backends) func rangesAnswer206Or416(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let head = try c.request("GET", "/assets/a.txt", headers: ["Range": "bytes=0-4"])
            #expect(head.status == 206 && head.text == "hello" && head.header("Content-Range") == "bytes 0-4/12")
            let tail = try c.request("GET", "/assets/a.txt", headers: ["Range": "bytes=-5"])
            #expect(tail.status == 206 && tail.text == "files" && tail.header("Content-Range") == "bytes 7-11/12")
            let open = try c.request("GET", "/assets/a.txt", headers: ["Range": "bytes=7-"])
            #expect(open.status == 206 && open.text == "files")
            let past = try c.request("GET", "/assets/a.txt", headers: ["Range": "bytes=12-"])
            #expect(past.status == 416 && past.header("Content-Range") == "bytes */12")
            // Several ranges, or a stale If-Range: the whole file.
            #expect(try c.request("GET", "/assets/a.txt", headers: ["Range": "bytes=0-1,3-4"]).status == 200)
            let stale = ["Range": "bytes=0-4", "If-Range": "\"stale\""]
            #expect(try c.request("GET", "/assets/a.txt", headers: stale).status == 200)
            let mid = try c.request("GET", "/assets/big.bin", headers: ["Range": "bytes=500000-599999"])
            #expect(mid.status == 206 && mid.body == Array(tree.big[500_000..<600_000]))
        }

        /// Each hostile target and the status it must get; none may answer
        /// with the secret next to the directory.
        static let hostile: [(String, Int)] = [
            ("/assets/../secret.txt", 400),
            ("/assets/sub/../../secret.txt", 400),
            ("/assets/%2e%2e/secret.txt", 400),
            ("/assets/%2E%2E/secret.txt", 400),
            ("/assets/.%2e/secret.txt", 400),
            ("/assets/..%2fsecret.txt", 400),
            ("/assets/sub%2f..%2f..%2fsecret.txt", 400),
            ("/assets/..%5csecret.txt", 400),
            ("/assets/a.txt%00.html", 400),
            ("/assets/%00", 400),
            ("/assets/%zz", 400),
            ("/assets/escape", 404),  // a symlink to a file outside
            ("/assets/dirlink/secret.txt", 404),  // through a symlinked directory
            ("/assets/inside", 404),  // symlinks are not followed at all
            ("/assets/" + String(repeating: "a", count: 300), 404),  // longer than a file name may be
            ("/assets/" + String(repeating: "a/", count: 3000), 404),  // longer than a path may be
        ]

        @Test(arguments: backends) func hostilePathsNeverLeaveTheRoot(backend: Backend) throws {
            let tree = FileTree()
            defer { tree.remove() }
            let server = try Self.serve(tree, backend)
            defer { server.stop() }
            for (target, status) in Self.hostile {
                let c = try TestClient(port: server.port)
                let reply = try c.request("GET", target)
                #expect(reply.status == status, "\(target.prefix(60))")
                #expect(!reply.text.contains("secret"), "\(target.prefix(60))")
            }
        }
    }
}
