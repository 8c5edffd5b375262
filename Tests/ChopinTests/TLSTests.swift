import ChopinTesting
import Foundation
import Synchronization
import Testing

@testable import Chopin

/// HTTPS from Swift: a configuration is checked when it is made (a missing
/// file, a key of another certificate, a timeout out of range), a server
/// answers sync and async routes over TLS on both backends (curl and
/// `openssl s_client` as the clients), `reloadTLS` swaps the certificate for
/// new connections and refuses a mismatched key with the old one still
/// serving, and the redirecting router sends plain HTTP to HTTPS. The C
/// core's own TLS tests (test_tls) and the example's (test_tls.py) cover
/// the wire in depth.
@Suite(.serialized) struct TLSTests {
    /// A self-signed certificate and key, made with the openssl command.
    struct Pair {
        let certificate: String
        let key: String
    }

    static let directory: String = {
        let path = NSTemporaryDirectory() + "chopin-tls-swift-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Made one at a time: suites that run in parallel with this one
    /// (DocSnippetTests) ask for the same pair, and two openssl commands
    /// writing the same files at once left a key beside the other's
    /// certificate ("key values mismatch").
    private static let making = Mutex(())

    static func pair(_ name: String) throws -> Pair {
        try making.withLock { _ in
            let pair = Pair(certificate: "\(directory)/\(name).crt", key: "\(directory)/\(name).key")
            if FileManager.default.fileExists(atPath: pair.key) { return pair }
            let status = try run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    pair.key, "-out", pair.certificate, "-days", "2", "-subj", "/CN=\(name)", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                ]
            ).status
            #expect(status == 0, "the openssl command made a certificate")
            return pair
        }
    }

    /// Puts `pair`'s files where `live` names them (as a deploy replaces a
    /// server's certificate and key), replacing what is there.
    static func install(_ pair: Pair, at live: Pair) throws {
        for (from, to) in [(pair.certificate, live.certificate), (pair.key, live.key)] {
            if FileManager.default.fileExists(atPath: to) { try FileManager.default.removeItem(atPath: to) }
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
    }

    /// Runs a program found on PATH; its exit status and standard output.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], input: String = "") throws -> (
        status: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = inPipe
        try process.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The common name of the certificate a new connection to port gets.
    static func servedName(_ port: UInt16) throws -> String {
        let shown = try run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"], input: "Q\n")
        guard let line = shown.output.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }) else {
            return ""
        }
        return String(line.split(separator: "=").last ?? "").trimmingCharacters(in: .whitespaces)
    }

    /// A request over `openssl s_client`, saving its session to `save` or
    /// offering the one in `offer`; whether the handshake resumed it.
    static func resumed(_ port: UInt16, save: String? = nil, offer: String? = nil) throws -> Bool {
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-ign_eof"]
        if let save { arguments += ["-sess_out", save] }
        if let offer { arguments += ["-sess_in", offer] }
        let shown = try run(
            "openssl", arguments, input: "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return shown.output.contains("Reused, TLSv1.3")
    }

    static func curl(_ port: UInt16, _ path: String, trusting certificate: String) throws -> String {
        try run(
            "curl",
            [
                "-s", "--http1.1", "--cacert", certificate, "-w", " %{http_code}",
                "https://localhost:\(port)\(path)",
            ]
        ).output
    }

    @Test func aConfigurationIsCheckedWhenItIsMade() throws {
        let first = try Self.pair("first")
        let second = try Self.pair("second")
        let good = TLSConfiguration(certificateChain: .file(first.certificate), privateKey: .file(first.key))
        let server = try Server.bind("127.0.0.1:0", tls: good)
        #expect(server.configuration.tls == good)

        let missing = TLSConfiguration(certificateChain: .file("/nonexistent/chain.pem"), privateKey: .file(first.key))
        do {
            _ = try Server.bind("127.0.0.1:0", tls: missing)
            Issue.record("a missing certificate file was accepted")
        } catch {
            #expect(error.description.contains("/nonexistent/chain.pem"), "\(error)")
        }
        let mismatched = TLSConfiguration(certificateChain: .file(first.certificate), privateKey: .file(second.key))
        #expect(throws: ConfigurationError.self) { try Server.bind("127.0.0.1:0", tls: mismatched) }

        var noTime = good
        noTime.handshakeTimeout = .zero
        #expect(throws: ConfigurationError.self) { try Server.bind("127.0.0.1:0", tls: noTime) }
        var noHandshakes = good
        noHandshakes.maxHandshakesPerWorker = 0
        #expect(throws: ConfigurationError.self) { try Server.bind("127.0.0.1:0", tls: noHandshakes) }

        let pem = TLSConfiguration(
            certificateChain: .pem(try String(contentsOfFile: first.certificate, encoding: .utf8)),
            privateKey: .pem(try String(contentsOfFile: first.key, encoding: .utf8)))
        _ = try Server.bind("127.0.0.1:0", tls: pem)
    }

    @Test(arguments: [Backend.epoll, .uring]) func syncAndAsyncRoutesOverTLSAndAReload(backend: Backend) throws {
        let first = try Self.pair("first")
        let second = try Self.pair("second")
        let live = Pair(certificate: "\(Self.directory)/live-\(backend).crt", key: "\(Self.directory)/live-\(backend).key")
        try Self.install(first, at: live)
        let router = Router()
        router.get("/sync") { _ in .text("sync") }
        router.get("/async") { (_: Request) async in .text("async") }
        let running = try Server.bind(
            "127.0.0.1:0", tls: TLSConfiguration(certificateChain: .file(live.certificate), privateKey: .file(live.key))
        )
        .configured {
            $0.workers = 1
            $0.backend = backend
            $0.drainMilliseconds = 0
        }
        .start(router)
        defer { running.stop() }
        let port = running.port
        #expect(try Self.curl(port, "/sync", trusting: first.certificate) == "sync 200")
        #expect(try Self.curl(port, "/async", trusting: first.certificate) == "async 200")
        #expect(try Self.servedName(port) == "first")

        // The files change; the reload makes new connections take them.
        try Self.install(second, at: live)
        try running.reloadTLS()
        #expect(try Self.servedName(port) == "second")
        #expect(try Self.curl(port, "/async", trusting: second.certificate) == "async 200")

        // A key that does not match: refused, and the second certificate stays.
        try FileManager.default.removeItem(atPath: live.key)
        try FileManager.default.copyItem(atPath: first.key, toPath: live.key)
        do {
            try running.reloadTLS()
            Issue.record("a mismatched key was accepted")
        } catch {
            #expect(error.description.contains("match"), "\(error)")
        }
        #expect(try Self.servedName(port) == "second")
        // A configuration given whole (PEM here) replaces the files' one.
        try running.reloadTLS(
            TLSConfiguration(
                certificateChain: .pem(try String(contentsOfFile: first.certificate, encoding: .utf8)),
                privateKey: .pem(try String(contentsOfFile: first.key, encoding: .utf8))))
        #expect(try Self.servedName(port) == "first")
    }

    /// chopin-example over HTTPS with a worker process (the default
    /// isolation): SIGHUP reloads the certificate in place (the same worker
    /// process serves on, with the new certificate for new connections), and
    /// SIGUSR2 is still the rolling restart, after which a session from
    /// before it still resumes (one set of ticket keys, in the supervisor).
    @Test func sighupReloadsAndSigusr2RollsWithWorkerProcesses() throws {
        let first = try Self.pair("first")
        let second = try Self.pair("second")
        let live = Pair(certificate: "\(Self.directory)/live-hup.crt", key: "\(Self.directory)/live-hup.key")
        try Self.install(first, at: live)
        let server = try ExampleProcess(
            ["--workers", "2", "--tls-cert", live.certificate, "--tls-key", live.key],
            serves: { port in (try? Self.curl(port, "/plaintext", trusting: first.certificate)) == "Hello, World! 200" })
        let port = server.port
        let workerBefore = try Self.run("pgrep", ["-P", "\(server.pid)"]).output
        #expect(try Self.servedName(port) == "first")
        try Self.install(second, at: live)
        kill(server.pid, SIGHUP)
        #expect(server.waitForLine(containing: "TLS certificate reloaded", ms: 5000) != nil)
        // The worker process follows before its next connection.
        #expect(try Self.servedName(port) == "second")
        #expect(try Self.run("pgrep", ["-P", "\(server.pid)"]).output == workerBefore, "no process was replaced")
        let session = "\(Self.directory)/roll.session"
        #expect(try !Self.resumed(port, save: session), "a first connection makes a full handshake")
        kill(server.pid, SIGUSR2)
        #expect(server.waitForLine(containing: "rolling restart done", ms: 15_000) != nil)
        #expect(try Self.run("pgrep", ["-P", "\(server.pid)"]).output != workerBefore, "the worker process was replaced")
        // The new worker process opens the old one's tickets: the keys are the supervisor's.
        #expect(try Self.resumed(port, offer: session), "a session from before the roll resumes after it")
        #expect(try Self.curl(port, "/async/json", trusting: second.certificate) == #"{"message":"Hello, World!"} 200"#)
    }

    /// chopin-example as a ServiceGroup service with worker threads: the
    /// group takes SIGINT and SIGTERM, and SIGHUP still reloads the
    /// certificate (its first worker to accept a connection after it reads
    /// the files); SIGUSR2, with no worker processes to restart, leaves it
    /// serving.
    @Test func sighupReloadsUnderAServiceGroupWithWorkerThreads() throws {
        let first = try Self.pair("first")
        let second = try Self.pair("second")
        let live = Pair(certificate: "\(Self.directory)/live-group.crt", key: "\(Self.directory)/live-group.key")
        try Self.install(first, at: live)
        let server = try ExampleProcess(
            [
                "--service-group", "--isolation", "threads", "--workers", "1", "--tls-cert", live.certificate,
                "--tls-key", live.key,
            ],
            serves: { port in (try? Self.curl(port, "/plaintext", trusting: first.certificate)) == "Hello, World! 200" })
        defer { server.stop() }
        #expect(try Self.servedName(server.port) == "first")
        try Self.install(second, at: live)
        kill(server.pid, SIGHUP)
        #expect(server.waitForLine(containing: "TLS certificate is read again", ms: 5000) != nil)
        #expect(try Self.servedName(server.port) == "second")
        #expect(server.waitForLine(containing: "TLS certificate reloaded", ms: 5000) != nil)
        kill(server.pid, SIGUSR2)
        #expect(server.waitForLine(containing: "no worker processes to restart", ms: 5000) != nil)
        #expect(try Self.curl(server.port, "/async/json", trusting: second.certificate) == #"{"message":"Hello, World!"} 200"#)
    }

    /// kTLS from chopin-example: the startup line says who seals the records
    /// (the kernel where it offers the tls ULP, else user space, and user
    /// space always with --no-kernel-tls), every route answers either way,
    /// and chopin_tls_kernel_connections_total counts the connections the
    /// kernel took: each one when it seals, none when it does not.
    @Test func theStartupLineAndTheMetricSayWhoSealsTheRecords() throws {
        let first = try Self.pair("first")
        for kernelOff in [true, false] {
            let server = try ExampleProcess(
                ["--workers", "1", "--isolation", "threads", "--tls-cert", first.certificate, "--tls-key", first.key]
                    + (kernelOff ? ["--no-kernel-tls"] : []),
                serves: { port in
                    (try? Self.curl(port, "/plaintext", trusting: first.certificate)) == "Hello, World! 200"
                })
            defer { server.stop() }
            let line = server.waitForLine(containing: "HTTPS (TLS 1.2 and 1.3)", ms: 5000) ?? ""
            let byKernel = line.contains("records sealed by the kernel after each handshake (kTLS")
            if kernelOff {
                #expect(line.contains("records sealed in user space (kTLS is turned off)"), "\(line)")
            } else {
                #expect(byKernel || line.contains("records sealed in user space (the kernel has no tls ULP"), "\(line)")
            }
            for path in ["/plaintext", "/json", "/async/json"] {
                #expect(try Self.curl(server.port, path, trusting: first.certificate).hasSuffix(" 200"), "\(path)")
            }
            let metrics = try Self.curl(server.port, "/metrics", trusting: first.certificate)
            let counted = metrics.split(separator: "\n").first { $0.hasPrefix("chopin_tls_kernel_connections_total") }
                .flatMap { $0.split(separator: " ").last }.flatMap { UInt64($0) }
            // Every curl above was a connection of its own (the serves probe included).
            #expect(byKernel ? (counted ?? 0) >= 4 : counted == 0, "\(metrics)")
        }
    }

    @Test func aPlainServerHasNoCertificateToReload() throws {
        let running = try Server.bind("127.0.0.1:0").configured {
            $0.workers = 1
            $0.drainMilliseconds = 0
        }.start(Router())
        defer { running.stop() }
        #expect(throws: ConfigurationError.self) { try running.reloadTLS() }
    }

    @Test func thePlainPortRedirectsToHTTPS() throws {
        let app = try TestApp(.redirectingToHTTPS(port: 8443))
        defer { app.stop() }
        let moved = try app.get("/user/7?tab=a%20b", headers: [("Host", "example.com:8080")])
        #expect(moved.status == HTTPStatus(308))
        #expect(moved.header("Location") == "https://example.com:8443/user/7?tab=a%20b")
        let root = try app.request(.post, "/", headers: [("Host", "[::1]")])
        #expect(root.status == HTTPStatus(308) && root.header("Location") == "https://[::1]:8443/")
        // Never another host through the path, and no Host that is not one.
        let sneaky = try app.get("//evil.example/x", headers: [("Host", "example.com")])
        #expect(sneaky.header("Location") == "https://example.com:8443/evil.example/x")
        #expect(try app.get("/", headers: [("Host", "a b")]).status == HTTPStatus(400))

        let standard = try TestApp(.redirectingToHTTPS())
        defer { standard.stop() }
        #expect(try standard.get("/x", headers: [("Host", "example.com")]).header("Location") == "https://example.com/x")
    }
}
