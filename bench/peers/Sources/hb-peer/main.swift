// hb-peer PORT [--ws]: Hummingbird 2 on one event loop, the same routes as
// chopin-example: /plaintext, /json, and /db (one random World row, through
// postgres-nio with a pool of 16, as chopin-example) when CHOPIN_DATABASE_URL
// (postgres://USER@HOST:PORT/DATABASE) is set. With --ws, also the WebSocket
// echo at /ws (hummingbird-websocket, every message sent back as it came, as
// chopin-example's); only then, because the upgrade-capable HTTP/1 channel is
// a different pipeline from the plain one the matrix measures.
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOPosix
import OpenAPIHummingbird
import OpenAPIRuntime
import PostgresNIO

struct Message: ResponseEncodable { let message: String }

struct Greeting: APIProtocol {
    func hello(_ input: Operations.hello.Input) async throws -> Operations.hello.Output {
        .ok(.init(body: .json(.init(message: "Hello, World!"))))
    }
}
struct World: ResponseEncodable {
    let id: Int32
    let randomNumber: Int32
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8082 : 8082
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let router = Router()
router.get("plaintext") { _, _ -> String in "Hello, World!" }
router.get("json") { _, _ -> Message in Message(message: "Hello, World!") }
// The /json body from an OpenAPI operation, through swift-openapi-hummingbird
// (bench/peers/hello-openapi.yaml; Generated/ by swift-openapi-generator).
try Greeting().registerHandlers(on: router, serverURL: Servers.Server1.url())

var database: PostgresClient?
if let url = ProcessInfo.processInfo.environment["CHOPIN_DATABASE_URL"], let parts = URLComponents(string: url) {
    var config = PostgresClient.Configuration(
        host: parts.host ?? "127.0.0.1", port: parts.port ?? 5432, username: parts.user ?? "postgres",
        password: parts.password, database: String(parts.path.dropFirst()), tls: .disable)
    config.options.maximumConnections = 16
    let client = PostgresClient(configuration: config, eventLoopGroup: group, backgroundLogger: Logger(label: "db"))
    database = client
    router.get("db") { _, _ -> World in
        let id = Int32.random(in: 1...10_000)
        let rows = try await client.query("SELECT id, randomnumber FROM world WHERE id = \(id)")
        for try await (id, number) in rows.decode((Int32, Int32).self) { return World(id: id, randomNumber: number) }
        throw HTTPError(.notFound)
    }
}

let address = BindAddress.hostname("127.0.0.1", port: port)
let app: any ApplicationProtocol
if CommandLine.arguments.contains("--ws") {
    app = Application(
        router: router,
        server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 16 << 20, validateUTF8: true))) { request, _, _ in
            guard request.path == "/ws" else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    switch message {
                    case .text(let text): try await outbound.write(.text(text))
                    case .binary(let bytes): try await outbound.write(.binary(bytes))
                    }
                }
            }
        },
        configuration: .init(address: address),
        eventLoopGroupProvider: .shared(group)
    )
} else {
    app = Application(router: router, configuration: .init(address: address), eventLoopGroupProvider: .shared(group))
}
if let database {
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { await database.run() }
        tasks.addTask { try await app.runService() }
        try await tasks.next()
        tasks.cancelAll()
    }
} else {
    try await app.runService()
}
