import Testing

@testable import Chopin

/// Accept-Encoding as ``Compression`` reads it.
@Suite struct AcceptEncodingTests {
    @Test func choices() {
        let table: [(String?, ContentCoding.Choice)] = [
            (nil, .identity),
            ("", .identity),
            ("gzip", .compress(.gzip, required: false)),
            ("deflate", .compress(.deflate, required: false)),
            ("gzip;q=0.5, deflate", .compress(.deflate, required: false)),
            ("gzip, deflate", .compress(.gzip, required: false)),  // gzip on a tie
            ("GZIP ; Q=1", .compress(.gzip, required: false)),
            ("x-gzip", .compress(.gzip, required: false)),
            ("br", .identity),
            ("gzip;q=0", .identity),
            ("*", .compress(.gzip, required: false)),
            ("*;q=0, deflate", .compress(.deflate, required: true)),  // identity left to *;q=0
            ("identity;q=0, gzip", .compress(.gzip, required: true)),
            ("identity;q=0", .notAcceptable),
            ("*;q=0", .notAcceptable),
            ("gzip;q=0, identity", .identity),
        ]
        for (header, want) in table { #expect(ContentCoding.choose(header) == want, "\(header ?? "nil")") }
    }
}

extension EndToEndTests {
    /// ``Compression`` over real sockets on both backends (the C core's
    /// deflate itself is checked byte for byte in Tests/c/test_compress.c).
    @Suite struct CompressedResponses {
        private static func serve(_ backend: Backend) throws -> RunningServer {
            let router = Router()
            router.get("/plain") { _ in .text(String(repeating: "x", count: 4000)) }
            router.group("/z") { z in
                z.use(Compression())
                z.get("/text") { _ in .text(String(repeating: "hello ", count: 1000)) }
                z.get("/json") { ctx in ctx.json([String](repeating: "hello", count: 500)) }
                z.get("/small") { _ in .text("tiny") }
                z.get("/png") { _ in .bytes([UInt8](repeating: 0, count: 4000), contentType: "image/png") }
                z.get("/async") { (_: Request) async in .text(String(repeating: "hello ", count: 1000)) }
            }
            return try startServer(router, backend)
        }

        @Test(arguments: backends) func compressedWhenAcceptedAndWorthIt(backend: Backend) throws {
            let server = try Self.serve(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            for path in ["/z/text", "/z/json", "/z/async"] {
                let gz = try c.request("GET", path, headers: ["Accept-Encoding": "gzip, deflate;q=0.5"])
                #expect(gz.status == 200 && gz.header("Content-Encoding") == "gzip", "\(path)")
                #expect(gz.header("Vary") == "Accept-Encoding" && gz.body.count < 500, "\(path)")
                #expect(gz.body.starts(with: [0x1f, 0x8b]), "\(path): a gzip member")
                let plain = try c.request("GET", path)
                #expect(plain.header("Content-Encoding") == nil && plain.header("Vary") == "Accept-Encoding")
                #expect(plain.body.count > 4000, "\(path)")
            }
            let deflate = try c.request("GET", "/z/text", headers: ["Accept-Encoding": "deflate"])
            #expect(deflate.header("Content-Encoding") == "deflate" && deflate.body.first == 0x78)
            // Too small, not compressible, or outside the group: as it is.
            let small = try c.request("GET", "/z/small", headers: ["Accept-Encoding": "gzip"])
            #expect(small.text == "tiny" && small.header("Content-Encoding") == nil)
            let png = try c.request("GET", "/z/png", headers: ["Accept-Encoding": "gzip"])
            #expect(png.body.count == 4000 && png.header("Content-Encoding") == nil && png.header("Vary") == nil)
            let other = try c.request("GET", "/plain", headers: ["Accept-Encoding": "gzip"])
            #expect(other.body.count == 4000 && other.header("Content-Encoding") == nil && other.header("Vary") == nil)
            // Identity refused: even the small body is compressed; nothing acceptable: 406.
            let forced = try c.request("GET", "/z/small", headers: ["Accept-Encoding": "identity;q=0, gzip"])
            #expect(forced.header("Content-Encoding") == "gzip")
            #expect(try c.request("GET", "/z/text", headers: ["Accept-Encoding": "identity;q=0"]).status == 406)
        }
    }
}
