import Testing

@testable import Chopin

extension EndToEndTests {
    /// ``RequestDecompression`` over real sockets on both backends: gzip and
    /// both forms of deflate reach sync handlers, extractors and async
    /// handlers inflated; past the limit is 413, bad data 400, other codings
    /// 415; routes outside the middleware get the body as sent. The inflating
    /// itself is checked in Tests/c/test_inflate.c and fuzz/fuzz_inflate.c.
    @Suite struct CompressedRequestBodies {
        struct Item: Codable, Sendable { let name: String; let count: Int }

        /// `{"name":"chopin","count":3}` as gzip, zlib ("deflate") and raw deflate.
        static let json = #"{"name":"chopin","count":3}"#
        static let gzipJSON: [UInt8] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 86, 202, 75, 204, 77, 85, 178, 82, 74, 206, 200, 47, 200, 204, 83, 210,
            81, 74, 206, 47, 205, 43, 81, 178, 50, 174, 5, 0, 124, 188, 247, 100, 27, 0, 0, 0,
        ]
        static let zlibJSON: [UInt8] = [
            120, 156, 171, 86, 202, 75, 204, 77, 85, 178, 82, 74, 206, 200, 47, 200, 204, 83, 210, 81, 74, 206, 47, 205,
            43, 81, 178, 50, 174, 5, 0, 125, 72, 8, 227,
        ]
        static let rawJSON: [UInt8] = [
            171, 86, 202, 75, 204, 77, 85, 178, 82, 74, 206, 200, 47, 200, 204, 83, 210, 81, 74, 206, 47, 205, 43, 81,
            178, 50, 174, 5, 0,
        ]
        /// 1,000 and 2,000 zero bytes, gzipped: at the 1,000-byte limit and past it.
        static let gzipZeros1000: [UInt8] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 99, 96, 24, 5, 163, 96, 20, 12, 119, 0, 0, 128, 23, 11, 6, 232, 3, 0, 0,
        ]
        static let gzipZeros2000: [UInt8] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 99, 96, 24, 5, 163, 96, 20, 140, 130, 81, 48, 10, 70, 193, 80, 7, 0, 68, 244,
            201, 2, 208, 7, 0, 0,
        ]

        private static func serve(_ backend: Backend) throws -> RunningServer {
            let router = Router()
            router.post("/as-sent") { (ctx: Context) in .text("\(ctx.body.count)") }
            router.group("/in") { g in
                g.use(RequestDecompression(maxSize: 1000))
                g.post("/count") { (ctx: Context) in .text("\(ctx.body.count)") }
                g.post("/item") { (_: Context, item: Json<Item>) in .text("\(item.value.name) \(item.value.count)") }
                g.post("/async") { (req: Request) async in .text(String(decoding: req.body, as: UTF8.self)) }
            }
            return try startServer(router, backend)
        }

        private static func post(_ c: TestClient, _ path: String, _ body: [UInt8], coding: String?) throws
            -> TestClient.Reply
        {
            var head = "POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            if let coding { head += "Content-Encoding: \(coding)\r\n" }
            var bytes = Array((head + "Content-Length: \(body.count)\r\n\r\n").utf8) + body
            try c.send(&bytes)
            return try c.read()
        }

        @Test(arguments: backends) func inflatedForEveryKindOfHandler(backend: Backend) throws {
            let server = try Self.serve(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            for (coding, body) in [("gzip", Self.gzipJSON), ("x-gzip", Self.gzipJSON), ("deflate", Self.zlibJSON),
                                   ("Deflate", Self.rawJSON)] {
                let item = try Self.post(c, "/in/item", body, coding: coding)
                #expect(item.status == 200 && item.text == "chopin 3", "\(coding): \(item.status) \(item.text)")
                let async = try Self.post(c, "/in/async", body, coding: coding)
                #expect(async.status == 200 && async.text == Self.json, "\(coding): \(async.text)")
            }
            // Not compressed, or identity: as it is.
            let plain = try Self.post(c, "/in/async", Array(Self.json.utf8), coding: nil)
            #expect(plain.text == Self.json)
            #expect(try Self.post(c, "/in/async", Array(Self.json.utf8), coding: "identity").text == Self.json)
            // Outside the middleware, the compressed bytes reach the handler.
            #expect(try Self.post(c, "/as-sent", Self.gzipJSON, coding: "gzip").text == "\(Self.gzipJSON.count)")
            // Keep-alive carried on through all of it.
            #expect(try c.request("POST", "/in/count", body: "abc").text == "3")
        }

        /// SDKs send a content coding on requests with no body: no body is
        /// an empty body, whatever the coding says (sync and async routes).
        @Test(arguments: backends) func anEmptyBodyWithACodingIsEmpty(backend: Backend) throws {
            let server = try Self.serve(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            for coding in ["gzip", "deflate", "br"] {
                let sync = try Self.post(c, "/in/count", [], coding: coding)
                #expect(sync.status == 200 && sync.text == "0", "\(coding): \(sync.status) \(sync.text)")
                let async = try Self.post(c, "/in/async", [], coding: coding)
                #expect(async.status == 200 && async.text == "", "\(coding): \(async.status) \(async.text)")
            }
        }

        @Test(arguments: backends) func limitBadDataAndOtherCodings(backend: Backend) throws {
            let server = try Self.serve(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let atLimit = try Self.post(c, "/in/count", Self.gzipZeros1000, coding: "gzip")
            #expect(atLimit.status == 200 && atLimit.text == "1000")
            let over = try Self.post(c, "/in/count", Self.gzipZeros2000, coding: "gzip")
            #expect(over.status == 413 && over.text.contains("1000 bytes"), "\(over.status) \(over.text)")
            let cut = try Self.post(c, "/in/count", Array(Self.gzipJSON.dropLast(4)), coding: "gzip")
            #expect(cut.status == 400 && cut.text.contains("gzip"), "\(cut.status) \(cut.text)")
            let wrong = try Self.post(c, "/in/count", Self.gzipJSON, coding: "deflate")
            #expect(wrong.status == 400, "gzip sent as deflate: \(wrong.status)")
            let plainAsGzip = try Self.post(c, "/in/count", Array(Self.json.utf8), coding: "gzip")
            #expect(plainAsGzip.status == 400)
            for coding in ["br", "gzip, gzip", "compress"] {
                let r = try Self.post(c, "/in/count", Self.gzipJSON, coding: coding)
                #expect(r.status == 415 && r.header("Accept-Encoding") == "gzip, deflate", "\(coding): \(r.status)")
            }
            // Two Content-Encoding fields stack two codings.
            var twice = Array(
                ("POST /in/count HTTP/1.1\r\nHost: test\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\n"
                    + "Content-Length: \(Self.gzipJSON.count)\r\n\r\n").utf8) + Self.gzipJSON
            try c.send(&twice)
            #expect(try c.read().status == 415)
            // Each refusal left the connection serving.
            #expect(try c.request("POST", "/in/count", body: "abcd").text == "4")
        }

        /// chopin-example's POST /inflate.
        @Test(arguments: backends) func theExampleRoute(backend: Backend) throws {
            let server = try startExample(backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)
            let r = try Self.post(c, "/inflate", Self.gzipJSON, coding: "gzip")
            #expect(r.status == 200 && r.text == Self.json && r.header("Content-Type") == "application/json")
        }
    }
}
