// hb-peer PORT: Hummingbird 2 on one event loop, the same two routes.
import Hummingbird
import NIOPosix

struct Message: ResponseEncodable { let message: String }

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8082 : 8082
let router = Router()
router.get("plaintext") { _, _ -> String in "Hello, World!" }
router.get("json") { _, _ -> Message in Message(message: "Hello, World!") }
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1))
)
try await app.runService()
