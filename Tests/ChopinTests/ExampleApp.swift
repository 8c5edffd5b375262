@testable import Chopin

// The routes of chopin-example, rebuilt here so the tests serve exactly them.
struct Message: Encodable, JSONEncodable {
    let message: String
    func encodeJSON(to o: inout JSONObjectWriter) { o.field("message", message) }
}

struct User: Codable, JSONEncodable, Equatable {
    let id: UInt64
    let username: String
    func encodeJSON(to o: inout JSONObjectWriter) {
        o.field("id", id)
        o.field("username", username)
    }
}

struct Search: Codable {
    let q: String
    let limit: Int?
}

struct Boom: Error {}

func exampleRouter() -> Router {
    let router = Router()
    router.get("/plaintext") { _ in .text("Hello, World!") }
    router.get("/json") { ctx in ctx.json(Message(message: "Hello, World!")) }
    router.get("/user/:id") { (ctx: Context, id: Path<UInt64>) in ctx.json(User(id: id.value, username: "kowito")) }
    router.post("/echo") { ctx in
        .bytes(Array(ctx.body), contentType: ctx.header("Content-Type") ?? "application/octet-stream")
    }
    router.post("/users") { (ctx: Context, user: Json<User>) throws in ctx.json(user.value, status: .created) }
    router.get("/search") { (ctx: Context, search: Query<Search>) in ctx.json(search.value) }
    router.get("/static/*path") { ctx throws in .text(try ctx.param("path") ?? "") }
    router.get("/fail") { _ throws -> Response in throw Boom() }
    router.get("/teapot") { _ throws -> Response in throw HTTPError(418, "short and stout") }
    return router
}

func startExample(_ backend: Backend) throws -> RunningServer {
    try startServer(exampleRouter(), backend)
}

/// One worker on a free loopback port, so a test's requests share one loop.
func startServer(_ router: Router, _ backend: Backend = .epoll) throws -> RunningServer {
    var config = Configuration(host: "127.0.0.1", port: 0)
    config.workers = 1
    config.backend = backend
    return try Server(configuration: config).start(router)
}
