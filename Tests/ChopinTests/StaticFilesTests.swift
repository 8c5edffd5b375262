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
            return try startServer(router, backend)
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
            for target in ["/assets", "/assets/", "/assets/sub/../"] {
                let index = try c.request("GET", target)
                #expect(index.status == 200 && index.text == "<h1>home</h1>", "\(target)")
                #expect(index.header("Content-Type") == "text/html; charset=utf-8")
            }
            #expect(try c.request("GET", "/assets/sub").status == 404)  // a directory without an index
            #expect(try c.request("GET", "/assets/missing.txt").status == 404)
            let big = try c.request("GET", "/assets/big.bin")
            #expect(big.status == 200 && big.body == tree.big)
            #expect(big.header("Content-Type") == "application/octet-stream")
            // HEAD: no bytes (the next answer is read right after the head).
            try c.send("HEAD /assets/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try c.readHead().status == 200)  // its Content-Length: Tests/c/test_files.c
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
