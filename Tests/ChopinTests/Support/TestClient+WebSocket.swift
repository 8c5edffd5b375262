/// Frames by hand over a ``TestClient``'s socket, for WebSocket tests.
extension TestClient {
    /// Sends the upgrade for `path`; returns the 101's status (or what came instead).
    func upgrade(_ path: String) throws -> Int { try upgradeReply(path).status }

    /// The upgrade's answer head, with `extra` header lines ("Name: value") in the request.
    func upgradeReply(_ path: String, extra: [String] = []) throws -> Reply {
        try send(
            "GET \(path) HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + extra.map { $0 + "\r\n" }.joined() + "\r\n")
        return try readHead()
    }

    /// Sends one frame, masked as a client must (unless `masked` is false).
    func sendFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true) throws {
        var bytes = Self.frame(opcode, payload, fin: fin, masked: masked)
        try send(&bytes)
    }

    /// One frame's bytes, masked as a client must (unless `masked` is false):
    /// for a test that sends it together with something else.
    static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let m: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(m | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame += [m | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(m | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        if masked {
            let key: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
            frame += key
            frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        } else {
            frame += payload
        }
        return frame
    }

    /// The server's next frame: its opcode and payload.
    func readFrame() throws -> (opcode: UInt8, payload: [UInt8]) {
        while buffer.count < 2 { try fill() }
        var length = Int(buffer[1] & 0x7F)
        var at = 2
        if length == 126 {
            while buffer.count < 4 { try fill() }
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            at = 4
        } else if length == 127 {
            while buffer.count < 10 { try fill() }
            length = buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
            at = 10
        }
        while buffer.count < at + length { try fill() }
        let frame = (opcode: buffer[0] & 0x0F, payload: Array(buffer[at..<(at + length)]))
        buffer.removeFirst(at + length)
        return frame
    }
}
