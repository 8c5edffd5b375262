import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The tests that run chopin-example as processes (crashes, rolling
/// restarts, the drain, two servers), one at a time: each loads both CPUs
/// with clients and worker restarts, and their timings hold only alone.
@Suite(.serialized) struct ExampleProcessTests {}

/// chopin-example run as a real process (the supervisor and its worker
/// processes), on a free loopback port, its standard error kept in a file:
/// for the tests of what only processes can show (a trap, a restart, a signal).
final class ExampleProcess {
    let pid: pid_t
    let port: UInt16
    private let errors: String

    /// Starts `chopin-example --host 127.0.0.1 --port <free> <arguments>`
    /// (from `binary`: a copy of it, for a test that replaces the file) and
    /// waits until it answers `GET /plaintext` (or until `serves(port)` says
    /// so: an HTTPS server is asked over TLS).
    init(
        _ arguments: [String], binary: String = ExampleProcess.binary(),
        serves: ((UInt16) -> Bool)? = nil
    ) throws {
        guard access(binary, X_OK) == 0 else {
            throw TestClient.Failure(description: "\(binary) not built (make test-swift builds every product first)")
        }
        port = try Self.freePort()
        errors = "/tmp/chopin-example-\(getpid())-\(port).err"
        // No drain period unless a test asks for one: its stops are at once.
        let drain = arguments.contains("--drain-ms") ? [] : ["--drain-ms", "0"]
        let argv = [binary, "--host", "127.0.0.1", "--port", "\(port)"] + drain + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        // A process group of its own (its worker processes join it): a test
        // can send it what Ctrl-C in a terminal sends, and nothing else gets it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        var child: pid_t = 0
        let rc = posix_spawn(&child, binary, &actions, &attributes, &cArgs, environ)
        guard rc == 0 else { throw TestClient.Failure(description: "posix_spawn \(binary): \(rc)") }
        pid = child
        let deadline = Self.nowMs() + 30_000
        let port = self.port
        let answers = serves ?? { port in (try? TestClient(port: port).request("GET", "/plaintext").status) == 200 }
        while !answers(port) || exited() {
            guard Self.nowMs() < deadline, !exited() else {
                stop()
                throw TestClient.Failure(description: "chopin-example never served: \(stderrText())")
            }
            usleep(20_000)
        }
    }

    deinit {
        stop()
        unlink(errors)
    }

    /// The supervisor's " died of " lines, once the first is there (or `ms`
    /// passed), and the whole log they came from.
    func deaths(waitingUpTo ms: Int64 = 2000) -> (lines: [Substring], log: String) {
        var log = stderrText()
        let deadline = Self.nowMs() + ms
        while !log.contains(" died of ") && Self.nowMs() < deadline {
            usleep(10_000)
            log = stderrText()
        }
        return (log.split(separator: "\n").filter { $0.contains(" died of ") }, log)
    }

    /// The supervisor's standard error so far (its log lines and the workers' forwarded ones).
    func stderrText() -> String { String(decoding: wholeFile(errors) ?? [], as: UTF8.self) }

    private var status: Int32?
    private func exited() -> Bool {
        if status != nil { return true }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s }
        return status != nil
    }

    /// The exit status (the raw waitpid status) once the process ended by
    /// itself within `ms`, or nil.
    func exitStatus(waitingUpTo ms: Int64) -> Int32? {
        let deadline = Self.nowMs() + ms
        while !exited() && Self.nowMs() < deadline { usleep(10_000) }
        return status
    }

    /// SIGTERM, then the exit status (the raw waitpid status), SIGKILL after 10 s.
    @discardableResult func stop() -> Int32 {
        if let status { return status }
        kill(pid, SIGTERM)
        let deadline = Self.nowMs() + 10_000
        while !exited() && Self.nowMs() < deadline { usleep(10_000) }
        if !exited() {
            kill(pid, SIGKILL)
            var s: Int32 = 0
            waitpid(pid, &s, 0)
            status = s
        }
        return status ?? -1
    }

    /// The counter's sum over the workers in `GET /metrics`.
    func metric(_ name: String) throws -> UInt64 { try metricValues(name).reduce(0, +) }

    /// The counter's values in `GET /metrics`, one per worker, in order.
    func metricValues(_ name: String) throws -> [UInt64] {
        let text = try TestClient(port: port).request("GET", "/metrics").text
        return text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { UInt64($0) } }
    }

    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// chopin-example, built next to this test bundle.
    static func binary() -> String {
        var path = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &path, path.count - 1)
        let exe = String(decoding: path.prefix(max(n, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return dir + "/chopin-example"
    }

    /// A loopback port nothing listens on now, below the kernel's ephemeral
    /// range: the in-process test servers (port 0) running meanwhile get
    /// theirs from that range, and one of them answering on this port would
    /// pass for the example.
    static func freePort() throws -> UInt16 {
        for _ in 0..<100 {
            let port = UInt16.random(in: 20000..<32000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = UInt32(0x7f000001).bigEndian
            let free = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            if free { return port }
        }
        throw TestClient.Failure(description: "no free port in 20000..<32000")
    }
}

/// A whole file's bytes (nil when it cannot be read), without Foundation.
func wholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return n == 0 ? bytes : nil }
        bytes += chunk[0..<n]
    }
}
