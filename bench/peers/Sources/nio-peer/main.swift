// nio-peer PORT: SwiftNIO's HTTP/1 pipeline on one event loop.
// GET /plaintext -> text/plain "Hello, World!"; GET /json -> a struct
// serialized per request with Foundation's JSONEncoder; else 404.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

struct Message: Encodable { let message: String }

final class Responder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var path = ""
    private var keepAlive = true
    private let encoder = JSONEncoder()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.uri
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let status: HTTPResponseStatus
            let type: String
            var body = context.channel.allocator.buffer(capacity: 32)
            switch path {
            case "/plaintext":
                status = .ok
                type = "text/plain"
                body.writeString("Hello, World!")
            case "/json":
                status = .ok
                type = "application/json"
                body.writeBytes((try? encoder.encode(Message(message: "Hello, World!"))) ?? Data())
            default:
                status = .notFound
                type = "text/plain"
            }
            var headers = HTTPHeaders()
            headers.add(name: "Server", value: "nio")
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            if keepAlive {
                // Flushed once per read in channelReadComplete: pipelined answers leave together.
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8081 : 8081
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 4096)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true).flatMap {
            channel.pipeline.addHandler(Responder())
        }
    }
    .bind(host: "127.0.0.1", port: port).wait()
print("nio-peer on \(port)")
try channel.closeFuture.wait()
