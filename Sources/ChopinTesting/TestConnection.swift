public import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// One client connection to a ``TestApp``: requests one after the other,
/// pipelined, or as raw bytes, and their responses read back in order.
/// Blocking, with a timeout on every read; used from one thread at a time.
public final class TestConnection {
    /// Why a request or a read failed: the connection closed, a timeout,
    /// or bytes that are not an HTTP/1.1 response.
    public struct Failure: Error, CustomStringConvertible {
        /// What happened.
        public let description: String
    }

    private var fd: Int32
    private var buffer: [UInt8] = []
    /// How long a read waits for the server before it fails (default 10 s).
    public var timeout: Duration = .seconds(10) {
        didSet { applyTimeout() }
    }

    init(fd: Int32) {
        self.fd = fd
        applyTimeout()
    }

    convenience init(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port): \(why)")
        }
        self.init(fd: fd)
    }

    deinit { close() }

    /// Closes the connection (also done when it is released).
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private func applyTimeout() {
        let (seconds, attoseconds) = timeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends one request and reads its response.
    public func request(
        _ method: Method, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) throws -> TestResponse {
        try send(method, target, headers: headers, body: body)
        return try response(to: method)
    }

    /// Sends one request without reading its response (pipelining: read
    /// them later, in order, with ``response(to:)``).
    public func send(
        _ method: Method, _ target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) throws {
        var head = "\(method.name) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { $0.name.lowercased() == "host" }) { head += "Host: test\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == .post || method == .put || method == .patch {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        try send(raw: Array(head.utf8) + body)
    }

    /// Sends bytes as they are (a malformed request, a partial one).
    public func send(raw bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads the next response (interim 1xx responses skipped); `method`
    /// is the request's, for the framing of a HEAD answer.
    public func response(to method: Method = .get) throws -> TestResponse {
        while true {
            let (status, headers, headEnd) = try readHead()
            buffer.removeFirst(headEnd)
            if (100..<200).contains(status) && status != 101 { continue }
            let body = try readBody(status: status, headers: headers, method: method)
            return TestResponse(status: HTTPStatus(status), headers: headers, body: body)
        }
    }

    /// Whether the server has closed the connection (reads until the close
    /// or the timeout; bytes that come instead are a failure).
    public func isClosedByServer() throws -> Bool {
        do {
            try fill()
        } catch let f as Failure where f.description == Self.closed {
            return true
        }
        throw Failure(description: "the server sent more: \(String(decoding: buffer.prefix(200), as: UTF8.self))")
    }

    private static let closed = "the server closed the connection"

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer += chunk[0..<n]
                return
            }
            if n == 0 { throw Failure(description: Self.closed) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "no response within \(timeout)") }
            throw Failure(description: "recv: \(String(cString: strerror(errno)))")
        }
    }

    private func readHead() throws -> (Int, [(name: String, value: String)], Int) {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let lines = String(decoding: buffer[0..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
                let statusLine = lines.first?.split(separator: " ") ?? []
                guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
                    throw Failure(description: "not an HTTP/1.1 status line: \(lines.first ?? "")")
                }
                var headers: [(name: String, value: String)] = []
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                    headers.append((String(line[..<colon]), String(value)))
                }
                return (status, headers, end + 4)
            }
            try fill()
        }
    }

    private func readBody(status: Int, headers: [(name: String, value: String)], method: Method) throws -> [UInt8] {
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
        if method == .head || status == 204 || status == 304 || status == 101 { return [] }
        if header("transfer-encoding")?.lowercased().contains("chunked") == true { return try readChunked() }
        if let length = header("content-length").flatMap({ Int($0) }) {
            while buffer.count < length { try fill() }
            defer { buffer.removeFirst(length) }
            return Array(buffer[0..<length])
        }
        // Delimited by the close.
        while true {
            do { try fill() } catch let f as Failure where f.description == Self.closed { break }
        }
        defer { buffer.removeAll() }
        return buffer
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine()
            let sizeText = sizeLine.split(separator: ";", omittingEmptySubsequences: false)[0].filter { $0 != " " && $0 != "\t" }
            guard let size = Int(sizeText, radix: 16) else {
                throw Failure(description: "a chunk size that is not hex: \(sizeLine)")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers, up to the blank line
                return body
            }
            while buffer.count < size + 2 { try fill() }
            body += buffer[0..<size]
            buffer.removeFirst(size + 2)
        }
    }

    /// The next line, without its CRLF.
    private func readLine() throws -> String {
        while true {
            if let end = find([13, 10]) {
                defer { buffer.removeFirst(end + 2) }
                return String(decoding: buffer[0..<end], as: UTF8.self)
            }
            try fill()
        }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] {
            if Array(buffer[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
