// chopin-example: the example server the README's run command starts.
//   GET  /plaintext        Hello, World!
//   GET  /json             {"message":"Hello, World!"}, serialized per request
//   GET  /user/:id         a JSON user with that id (/user/abc is 400)
//   POST /echo             the request body
//   POST /users            a JSON user, answered 201
//   GET  /search?q=&limit= the decoded query, as JSON
//   GET  /static/*path     the captured path
//   GET  /fail             throws: 500, and the server goes on
// Usage: chopin-example [--port N] [--workers N] [--backend auto|uring|epoll] [--host ADDR]
import Chopin

#if canImport(Glibc)
    import Glibc
#endif

struct Message: Encodable, JSONEncodable {
    let message: String
    func encodeJSON(to o: inout JSONObjectWriter) { o.field("message", message) }
}

struct User: Codable, JSONEncodable {
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

struct Failure: Error {}

func usage(_ message: String) -> Never {
    var line =
        "chopin-example: \(message)\nusage: chopin-example [--port N] [--workers N] [--backend auto|uring|epoll] [--host ADDR]\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

var config = Configuration(host: "0.0.0.0", port: 8080)
var args = CommandLine.arguments.dropFirst()
while let flag = args.popFirst() {
    guard let value = args.popFirst() else { usage("\(flag) needs a value") }
    switch flag {
    case "--port":
        guard let p = UInt16(value) else { usage("--port must be 0...65535, got '\(value)'") }
        config.port = p
    case "--workers":
        guard let w = UInt32(value) else { usage("--workers must be a number, got '\(value)'") }
        config.workers = w
    case "--backend":
        guard let b = Backend(rawValue: value) else { usage("--backend must be auto, uring or epoll, got '\(value)'") }
        config.backend = b
    case "--host":
        config.host = value
    default:
        usage("unknown flag \(flag)")
    }
}

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
router.get("/fail") { _ throws -> Response in throw Failure() }

do {
    try Server(configuration: config).serve(router)
} catch {
    usage("\(error)")
}
