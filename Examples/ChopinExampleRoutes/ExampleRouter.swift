import Chopin
import ChopinExampleOpenAPI

/// What `GET /fail` throws, to show that a throwing handler answers 500
/// and the server goes on.
struct ExampleFailure: Error {}

/// The routes of `chopin-example`, in one place so that the example server,
/// the tests and the benchmarks serve exactly the same thing:
///
///     GET  /plaintext        Hello, World!
///     GET  /json             {"message":"Hello, World!"}, serialized per request
///     GET  /user/:id         a JSON user with that id (/user/abc is 400)
///     POST /echo             the request body, with its Content-Type
///     POST /users            a JSON user, answered 201
///     GET  /search?q=&limit= the decoded query, as JSON
///     GET  /static/*path     the captured path (ctx.param: decoded once, not resolved)
///     GET  /fail             throws: 500, and the server goes on
///     GET  /async/json       the /json body from an async handler that awaits nothing
///     GET  /sleep?ms=N       an async handler that awaits Task.sleep for N ms (0...10000), then "slept N"
///     GET  /events           server-sent events: three ticks 100 ms apart, then the end
///     GET  /bytes?n=N        N bytes (0...1 GiB, "abc...z" repeated) streamed in 64 KiB pieces, in the
///                            memory of a few (the HTTPS test's 100 MB response)
///     GET  /crash            traps (a force-unwrapped nil): a worker process dies and is restarted
///     GET  /crash/async?ms=N the same in an async handler, after an await of N ms (default 20)
///     GET  /crash/ws         the same in a WebSocket handler, at the first message
///     GET  /assets/*         the files of Examples/public/ (or `assets`); GET /large.json compressed; POST /inflate
///                            a gzip or deflate request body, answered inflated (AssetRoutes.swift)
///     GET  /ws               WebSocket echo: every message back as it came (up to 16 MiB);
///                            subprotocol chopin.echo.v1 when offered, the client's close logged
///     POST /upload           the body read as a stream: {"bytes": N, "sha256": "..."}, any size
///                            up to maxStreamedBodyBytes, in the memory of a few chunks
///     GET  /api/me           behind an async bearer-token middleware (ApiRoutes.swift): the
///     GET  /api/me/async     user it stored, from a synchronous and an async handler, and a
///     GET  /api/ws           WebSocket that greets the user, then echoes; 401 without
///                            `Authorization: Bearer chopin-demo-token`
///     GET  /layered/plaintext  /plaintext behind three synchronous middleware (LayeredRoutes.swift)
///     GET  /layered/json       /json behind the same three
///     GET  /awaiting/json      /json behind one middleware that may await (and does not)
///     GET  /traced/json        /json behind TracingMiddleware (a span per request when a tracer is bootstrapped)
///     GET  /metered/json       /json behind RouteMetrics (its series in /metrics, as /api/* and /shelf/*)
///     /shelf/...             the OpenAPI-defined bookshelf (Examples/chopin-example/openapi.yaml, served
///                            through ChopinOpenAPI): GET /shelf/hello, GET/POST /shelf/books, GET /shelf/books/{isbn},
///                            GET /shelf/covers/{isbn}.{format}, POST /shelf/books/{isbn}/scan
///     POST /notes            {"text": "..."}: kept in memory, answered 201 with its id (NotesRoutes.swift)
///     GET  /notes            every note kept: one list, whichever worker answers
public func exampleRouter(assets: String = exampleAssetsDirectory) -> Router {
    let router = Router()
    router.get("/plaintext") { _ in .text("Hello, World!") }
    router.get("/json") { ctx in ctx.json(Message(message: "Hello, World!")) }
    router.get("/user/:id") { (ctx: Context, id: Path<UInt64>) in
        ctx.json(User(id: id.value, username: "kowito"))
    }
    router.post("/echo") { ctx in
        .bytes(Array(ctx.body), contentType: ctx.header("Content-Type") ?? "application/octet-stream")
    }
    router.post("/users") { (ctx: Context, user: Json<User>) throws in
        ctx.json(user.value, status: .created)
    }
    router.get("/search") { (ctx: Context, search: Query<Search>) in
        ctx.json(search.value)
    }
    router.get("/static/*path") { ctx throws in .text(try ctx.param("path") ?? "") }
    router.get("/fail") { _ throws -> Response in throw ExampleFailure() }
    router.get("/async/json") { (_: Request) async in .json(Message(message: "Hello, World!")) }
    router.get("/sleep") { (_: Request, nap: Query<Nap>) async throws -> Response in
        guard (0...10_000).contains(nap.value.ms) else { throw HTTPError(400, "ms must be between 0 and 10000") }
        try await Task.sleep(for: .milliseconds(nap.value.ms))
        return .text("slept \(nap.value.ms)")
    }
    router.get("/events") { (_: Request) async in
        Response.stream(contentType: "text/event-stream") { out in
            for i in 1...3 {
                try await out.write("id: \(i)\ndata: tick \(i)\n\n")
                if i < 3 { try await Task.sleep(for: .milliseconds(100)) }
            }
        }.header("Cache-Control", "no-cache")
    }
    router.get("/bytes") { (_: Request, size: Query<ByteCount>) async throws -> Response in
        let total = size.value.n
        guard (0...(1 << 30)).contains(total) else { throw HTTPError(400, "n must be between 0 and 1073741824") }
        return Response.stream(contentType: "application/octet-stream") { out in
            let piece = (0..<65536).map { UInt8(ascii: "a") + UInt8($0 % 26) }  // 65536 = 26 * 2520 + 16
            var sent = 0
            while sent < total {
                // Each piece starts where the alphabet left off, so the stream is one "abc...z" run.
                let start = sent % 26
                let count = min(piece.count - 26, total - sent)
                try await out.write(Array(piece[start..<start + count]))
                sent += count
            }
        }
    }
    addUploadRoute(to: router)
    addCrashRoute(to: router)
    addAssetRoutes(to: router, assets: assets)
    addWebSocketRoute(to: router)
    addAPIRoutes(to: router)
    addLayeredRoutes(to: router)
    do {
        try addBookshelf(to: router)
    } catch {
        preconditionFailure("the bookshelf's OpenAPI document does not register: \(error)")
    }
    addNotesRoutes(to: router)
    return router
}

/// `GET /bytes`' query.
struct ByteCount: Decodable, Sendable {
    let n: Int
}

/// `GET /sleep`'s query.
struct Nap: Decodable, Sendable {
    let ms: Int
}
