import Chopin
import Logging

/// `GET /ws` echoes every WebSocket message back as it came (text as text,
/// binary as binary), up to 16 MiB a message; the Autobahn-style script test
/// (Tests/python/test_websocket.py) talks to it with Python's `websockets`.
/// A client that offers the subprotocol `chopin.echo.v1` gets it agreed in
/// the 101; the code and reason of a client's close are logged.
func addWebSocketRoute(to router: Router) {
    let log = Logger(label: "chopin-example.ws")
    router.webSocket("/ws", maxMessageBytes: 16 << 20, subprotocols: ["chopin.echo.v1"]) { ws in
        for try await message in ws.messages { try await ws.send(message) }
        if let close = ws.clientClose {
            log.info(
                "client closed",
                metadata: [
                    // Quoted and escaped: a reason may hold a newline, and must not forge a log line.
                    "code": "\(close.code)", "reason": "\(close.reason.debugDescription)",
                    "subprotocol": "\(ws.subprotocol ?? "none")",
                ])
        }
    }
}
