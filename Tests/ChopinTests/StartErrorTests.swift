import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback port held by a plain listening socket (no SO_REUSEPORT, so
/// a server cannot share it). Returns the socket and the port.
private func occupiedPort() throws -> (Int32, UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7f000001).bigEndian
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, len) == 0 && listen(fd, 1) == 0 && getsockname(fd, p, &len) == 0
        }
    }
    try #require(rc)
    return (fd, UInt16(bigEndian: addr.sin_port))
}

@Suite struct StartErrors {
    /// The README's `Server.bind(...).serve(router)` on a port already in
    /// use: one clear line and exit status 1, not a crash with a register
    /// dump, and no usage text as if the flags were wrong.
    @Test func aPortInUseIsOneLineAndExitStatusOne() throws {
        let binary = ExampleProcess.binary()
        try #require(access(binary, X_OK) == 0, "\(binary) not built (swift build --build-tests)")
        let (fd, port) = try occupiedPort()
        defer { close(fd) }
        let errors = "/tmp/chopin-start-error-\(getpid()).txt"
        defer { unlink(errors) }
        let status = system("\(binary) --host 127.0.0.1 --port \(port) --workers 1 > /dev/null 2> \(errors)")
        #expect(status >> 8 == 1, "exit status \(status >> 8), signal \(status & 0x7f)")
        guard let f = fopen(errors, "r") else {
            Issue.record("no stderr captured")
            return
        }
        defer { fclose(f) }
        var text = ""
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), f) != nil {
            text += String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(text)")
        #expect(text.contains("cannot start") && text.contains("\(port)"), "stderr: \(text)")
        #expect(!text.contains("Fatal error") && !text.contains("usage"), "stderr: \(text)")
    }
}
