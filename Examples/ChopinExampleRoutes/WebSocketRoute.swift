import Chopin

/// `GET /ws` echoes every WebSocket message back as it came (text as text,
/// binary as binary), up to 16 MiB a message; the Autobahn-style script test
/// (Tests/python/test_websocket.py) talks to it with Python's `websockets`.
func addWebSocketRoute(to router: Router) {
    router.webSocket("/ws", maxMessageBytes: 16 << 20) { ws in
        for try await message in ws.messages { try await ws.send(message) }
    }
}
