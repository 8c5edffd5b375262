@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 client over a real socket, for end-to-end tests.
final class TestClient {
    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    let fd: Int32
    var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; from the loopback address `from`
    /// (host order, 0x7f000002 for 127.0.0.2) when given, to be a client
    /// other than 127.0.0.1.
    init(port: UInt16, from source: UInt32? = nil) throws {
        // `self.fd` is set only once the connection is up. A class whose
        // stored properties are all set runs its deinit when its init throws,
        // so closing here as well would close the number twice, and by then
        // another test's socket may hold it (parallel tests, one process).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed: \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = source.bigEndian
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let error = errno
                close(fd)
                throw Failure(description: "bind to the source address failed: \(error)")
            }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f000001).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let error = errno
            close(fd)
            throw Failure(description: "connect failed: \(error)")
        }
        self.fd = fd
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)
        try send(&bytes)
    }

    func send(_ bytes: inout [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: \(errno)") }
            off += n
        }
    }

    func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        var n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        while n < 0 && errno == EINTR { n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
        guard n > 0 else {
            // What came and was not consumed yet: where a stalled exchange stopped.
            let pending = String(decoding: buffer.suffix(300), as: UTF8.self).debugDescription
            let why = n == 0 ? "connection closed" : "recv failed: \(errno)"
            throw Failure(description: "\(why); \(buffer.count) bytes unread: \(pending)")
        }
        buffer.append(contentsOf: chunk[0..<n])
    }

    /// Reads one response framed by Content-Length.
    func read() throws -> Reply {
        while true {
            if let end = headEnd() {
                var reply = try parseHead(end)
                let length = Int(reply.header("Content-Length") ?? "0") ?? 0
                while buffer.count < end + 4 + length { try fill() }
                reply.body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                return reply
            }
            try fill()
        }
    }

    /// Reads one response whose body is chunked (or, with `untilClose`,
    /// delimited by the server's close), returning the body decoded.
    /// `onPiece` sees each chunk's size as it arrives.
    func readStreamed(untilClose: Bool = false, onPiece: (Int) -> Void = { _ in }) throws -> Reply {
        while headEnd() == nil { try fill() }
        let end = headEnd() ?? 0
        var reply = try parseHead(end)
        buffer.removeFirst(end + 4)
        var body: [UInt8] = []
        if untilClose {
            while true {
                body += buffer
                if !buffer.isEmpty { onPiece(buffer.count) }
                buffer.removeAll()
                do { try fill() } catch { break }
            }
            reply.body = body
            return reply
        }
        while true {
            while firstCRLF() == nil { try fill() }
            let line = firstCRLF() ?? 0
            let size = Int(String(decoding: buffer[0..<line], as: UTF8.self), radix: 16) ?? -1
            guard size >= 0 else { throw Failure(description: "bad chunk size line") }
            while buffer.count < line + 2 + size + 2 { try fill() }
            body += buffer[(line + 2)..<(line + 2 + size)]
            buffer.removeFirst(line + 2 + size + 2)
            if size == 0 { break }
            onPiece(size)
        }
        reply.body = body
        return reply
    }

    private func firstCRLF() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for i in 0..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
        return nil
    }

    private func parseHead(_ end: Int) throws -> Reply {
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " })))
        }
        return Reply(status: status, headers: headers, body: [])
    }

    /// Reads a HEAD response: the head only.
    func readHead() throws -> Reply {
        while headEnd() == nil { try fill() }
        let end = headEnd() ?? 0
        let reply = try parseHead(end)
        buffer.removeFirst(end + 4)
        return reply
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// One request on this connection, its response back.
    func request(_ method: String, _ target: String, headers: [String: String] = [:], body: String = "") throws -> Reply
    {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: test\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + body
        try send(text)
        return method == "HEAD" ? try readHead() : try read()
    }
}
