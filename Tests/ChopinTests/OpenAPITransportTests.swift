import ChopinOpenAPI
import ChopinTesting
import HTTPTypes
import OpenAPIRuntime
import Synchronization
import Testing

@testable import Chopin

// ChopinOpenAPI's ServerTransport, as generated code calls it (register,
// then requests over a connection): path templates of each shape, bodies
// streamed both ways, the router's middleware and storage reaching an
// operation, and the runtime's errors answered with their status.

private typealias OperationHandler =
    @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)

/// Answers what the operation was given: its name, path parameters and target.
private func echo(_ name: String) -> OperationHandler {
    { request, _, metadata in
        let parameters = metadata.pathParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let text = "\(name) \(parameters.joined(separator: ",")) \(request.path ?? "")"
        return (HTTPResponse(status: .ok, headerFields: [.contentType: "text/plain"]), HTTPBody(text))
    }
}

private struct User: Sendable { let name: String }

private struct SignIn: SyncMiddleware {
    func before(_ request: inout Request) throws -> Response? {
        request.storage[User.self] = User(name: request.header("X-User") ?? "nobody")
        return nil
    }
    func after(_ request: Request, response: inout Response) {
        response.headers.append(("X-Middleware", "ran"))
    }
}

/// An error that says its own status, as the runtime's ServerError does.
private struct Refused: Error, HTTPResponseConvertible {
    var httpStatus: HTTPResponse.Status { .unprocessableContent }
}

private struct Boom: Error {}

@Suite struct OpenAPITransportTests {
    private static func app(_ register: (OpenAPITransport) throws -> Void) throws -> TestApp {
        let router = Router()
        router.use(SignIn())
        try register(OpenAPITransport(router))
        return try TestApp(router)
    }

    @Test func everyPathTemplateShape() throws {
        let app = try Self.app { t in
            try t.register(echo("pet"), method: .get, path: "/pets/{petId}")
            try t.register(echo("owner"), method: .get, path: "/pets/{id}/owner")  // another name at the same place
            try t.register(echo("zip"), method: .get, path: "/files/{name}.zip")
            try t.register(echo("targz"), method: .get, path: "/files/{name}.tar.gz")
            try t.register(echo("version"), method: .get, path: "/v{major}.{minor}/info")
            try t.register(echo("root"), method: .get, path: "/")
        }
        defer { app.stop() }
        #expect(try app.get("/pets/7").text == "pet petId=7 /pets/7")
        #expect(try app.get("/pets/7/owner").text == "owner id=7 /pets/7/owner")
        #expect(try app.get("/files/report.zip").text == "zip name=report /files/report.zip")
        #expect(try app.get("/files/a.b.tar.gz?x=1").text == "targz name=a.b /files/a.b.tar.gz?x=1")
        #expect(try app.get("/v2.13/info").text == "version major=2,minor=13 /v2.13/info")
        #expect(try app.get("/").text == "root  /")
        // Parameters stay percent-encoded: the runtime decodes them.
        #expect(try app.get("/pets/a%20b").text == "pet petId=a%20b /pets/a%20b")
        #expect(try app.get("/files/report.rar").status == .notFound)
        #expect(try app.get("/files/.zip").status == .notFound)  // a parameter is never empty
        #expect(try app.post("/pets/7", body: "{}").status == .methodNotAllowed)
    }

    /// A segment that fits a mixed template in very many ways (8 KiB of
    /// dashes for `{x}-{y}-{z}`) is refused after a bounded number of tries,
    /// at once, not after the cube of its length; a plain one still fits.
    @Test func aPathMadeToFitManyWaysCostsLittle() throws {
        let app = try Self.app { t in try t.register(echo("dashes"), method: .get, path: "/a/{x}-{y}-{z}!") }
        defer { app.stop() }
        #expect(try app.get("/a/1-2-3!").text == "dashes x=1,y=2,z=3 /a/1-2-3!")
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try app.get("/a/" + String(repeating: "-", count: 8000)).status == .notFound)
        #expect(clock.now - start < .seconds(2))
    }

    @Test func aGroupsPrefixAndMiddleware() throws {
        let router = Router()
        router.group("/api/v1") { api in
            api.use(SignIn())
            try? OpenAPITransport(api).register(echo("pet"), method: .get, path: "/pets/{petId}.json")
        }
        let app = try TestApp(router)
        defer { app.stop() }
        let response = try app.get("/api/v1/pets/9.json")
        #expect(response.text == "pet petId=9 /api/v1/pets/9.json")
        #expect(response.header("X-Middleware") == "ran")
    }

    @Test func aBadTemplateIsRefused() throws {
        let transport = OpenAPITransport(Router())
        for path in ["/pets/{petId", "/pets/{}", "/a/{x}{y}"] {
            #expect(throws: OpenAPITransportError.self) { try transport.register(echo("x"), method: .get, path: path) }
        }
    }

    @Test func middlewareAndStorageReachTheOperation() throws {
        let app = try Self.app { t in
            try t.register(
                { _, _, _ in
                    let user = OpenAPITransport.request?.storage[User.self]?.name ?? "none"
                    return (HTTPResponse(status: .ok), HTTPBody("hello \(user)"))
                }, method: .get, path: "/me")
        }
        defer { app.stop() }
        let response = try app.get("/me", headers: [("X-User", "ada")])
        #expect(response.text == "hello ada")
        #expect(response.header("X-Middleware") == "ran")
        #expect(OpenAPITransport.request == nil)
    }

    /// 4 MiB each way: the request body read chunk by chunk as it arrives
    /// (never collected), the response body produced piece by piece.
    @Test func bodiesAreStreamedBothWays() throws {
        let chunks = Mutex<[Int]>([])
        let app = try Self.app { t in
            try t.register(
                { _, body, _ in
                    var total = 0
                    guard let body else { return (HTTPResponse(status: .badRequest), nil) }
                    #expect(body.length == .known(4 << 20))
                    for try await chunk in body {
                        total += chunk.count
                        chunks.withLock { $0.append(chunk.count) }
                    }
                    return (HTTPResponse(status: .ok), HTTPBody("\(total)"))
                }, method: .post, path: "/upload")
            try t.register(
                { _, _, _ in
                    let pieces = AsyncStream<[UInt8]> { out in
                        for i in 0..<64 { out.yield([UInt8](repeating: UInt8(i), count: 64 << 10)) }
                        out.finish()
                    }
                    return (
                        HTTPResponse(status: .ok, headerFields: [.contentType: "application/octet-stream"]),
                        HTTPBody(pieces, length: .unknown, iterationBehavior: .single)
                    )
                }, method: .get, path: "/download")
        }
        defer { app.stop() }
        let upload = try app.request(.post, "/upload", body: [UInt8](repeating: 7, count: 4 << 20))
        #expect(upload.text == "\(4 << 20)")
        let seen = chunks.withLock { $0 }
        #expect(seen.count > 1 && seen.allSatisfy { $0 <= RequestBodyStream.highWater })
        let download = try app.get("/download")
        #expect(download.body.count == 4 << 20)
        #expect(download.header("Transfer-Encoding") == "chunked")
        #expect(download.body[(64 << 10) * 63] == 63)
    }

    /// nil for no body; an empty body when the request says its type.
    @Test func anEmptyBodyIsABodyOnlyWithItsType() throws {
        let app = try Self.app { t in
            try t.register(
                { _, body, _ in
                    let text = body.map { "body \($0.length)" } ?? "none"
                    return (HTTPResponse(status: .ok), HTTPBody(text))
                }, method: .post, path: "/body")
        }
        defer { app.stop() }
        #expect(try app.request(.post, "/body").text == "none")  // Content-Length: 0 alone
        #expect(
            try app.request(.post, "/body", headers: [("Content-Type", "application/octet-stream")]).text
                == "body known(0)")
        #expect(try app.request(.post, "/body", body: [1, 2, 3]).text == "body known(3)")
    }

    /// An operation's header fields reach the client in order; its
    /// Content-Type is the answer's; the framing it sets (a wrong length, a
    /// Transfer-Encoding) is left out for Chopin's own.
    @Test func anOperationsFieldsAreItsAnswers() throws {
        let app = try Self.app { t in
            try t.register(
                { _, _, _ in
                    let fields: HTTPFields = [
                        .contentType: "application/json", .contentLength: "999", .transferEncoding: "chunked",
                        HTTPField.Name("X-Custom")!: "a", .cacheControl: "no-store",
                    ]
                    var head = HTTPResponse(status: .accepted, headerFields: fields)
                    head.headerFields.append(HTTPField(name: HTTPField.Name("X-Custom")!, value: "b"))
                    return (head, HTTPBody("{}"))
                }, method: .get, path: "/fields")
            try t.register(
                { _, _, _ in (HTTPResponse(status: .noContent, headerFields: [.cacheControl: "no-store"]), nil) },
                method: .delete, path: "/fields")
        }
        defer { app.stop() }
        let answer = try app.get("/fields")
        #expect(answer.status == .accepted)
        #expect(answer.text == "{}")
        #expect(answer.header("Content-Type") == "application/json")
        #expect(answer.headers(named: "Content-Length") == ["2"])
        #expect(answer.header("Transfer-Encoding") == nil)
        #expect(answer.headers(named: "X-Custom") == ["a", "b"])
        #expect(answer.header("Cache-Control") == "no-store")
        #expect(answer.header("X-Middleware") == "ran")
        let empty = try app.request(.delete, "/fields")
        #expect(empty.status == .noContent)
        #expect(empty.header("Cache-Control") == "no-store")
        #expect(empty.header("X-Middleware") == "ran")
    }

    /// The Host is the operation's authority, not one of its fields (as
    /// swift-nio-extras converts HTTP/1 heads); every other header is a field.
    @Test func theHostIsTheAuthority() throws {
        let app = try Self.app { t in
            try t.register(
                { request, _, _ in
                    let thing = HTTPField.Name("X-Thing")!, host = HTTPField.Name("Host")!
                    let text = "\(request.authority ?? "-") \(request.headerFields[host] ?? "-") \(request.headerFields[thing] ?? "-")"
                    return (HTTPResponse(status: .ok), HTTPBody(text))
                }, method: .get, path: "/who")
        }
        defer { app.stop() }
        let answer = try app.get("/who", headers: [("X-Thing", "yes")])
        #expect(answer.text.hasSuffix(" - yes"), "\(answer.text)")
        #expect(!answer.text.hasPrefix("- "), "the Host is the authority: \(answer.text)")
    }

    @Test func aHandlersHTTPErrorIsItsAnswer() throws {
        let app = try Self.app { t in
            try t.register(
                { _, _, _ in throw ServerError(operationID: "x", request: .init(method: .get, scheme: nil, authority: nil, path: "/"), requestBody: nil, requestMetadata: .init(), causeDescription: "handler", underlyingError: HTTPError(.conflict, "taken")) },
                method: .put, path: "/taken")
        }
        defer { app.stop() }
        let response = try app.request(.put, "/taken")
        #expect(response.status == .conflict)
        #expect(response.text.contains("taken"))
    }

    @Test func errorsThatSayTheirStatusAreAnsweredWithIt() throws {
        let app = try Self.app { t in
            try t.register({ _, _, _ in throw Refused() }, method: .post, path: "/refused")
            try t.register({ _, _, _ in throw Boom() }, method: .post, path: "/boom")
        }
        defer { app.stop() }
        let refused = try app.post("/refused", body: "{}")
        #expect(refused.status == .unprocessableContent)
        #expect(refused.header("X-Middleware") == "ran")
        #expect(refused.text.contains("\"error\""))
        #expect(try app.post("/boom", body: "{}").status == .internalServerError)
    }
}
