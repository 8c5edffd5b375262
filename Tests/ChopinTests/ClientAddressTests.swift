import Logging
import Synchronization
import Testing

@testable import Chopin

/// The client's address behind trusted proxies: the readers of addresses,
/// ranges and the two forwarding headers, then over real sockets on both
/// backends, on synchronous and async routes: believed only from a trusted
/// peer, the right-most untrusted hop, and never what a client sends about
/// itself.
@Suite struct ClientAddressTests {
    @Test func addressesAndRanges() throws {
        #expect(IPAddress("203.0.113.7")?.description == "203.0.113.7")
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:203.0.113.7")?.description == "203.0.113.7")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "host.example", "1.2.3.4:80", "[::1]"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        let ten = try #require(AddressRange("10.0.0.0/8"))
        #expect(ten.contains(try #require(IPAddress("10.200.1.2"))))
        #expect(!ten.contains(try #require(IPAddress("11.0.0.1"))))
        #expect(!ten.contains(try #require(IPAddress("::a00:1"))))  // another family
        let v6 = try #require(AddressRange("fd00::/8"))
        #expect(v6.contains(try #require(IPAddress("fd12:3456::1"))))
        #expect(!v6.contains(try #require(IPAddress("fe80::1"))))
        #expect(try #require(AddressRange("0.0.0.0/0")).contains(try #require(IPAddress("198.51.100.1"))))
        #expect(try #require(AddressRange("2001:db8::1")).contains(try #require(IPAddress("2001:db8::1"))))
        #expect(try #require(AddressRange("2001:db8::/65")).contains(try #require(IPAddress("2001:db8::7fff:0:0:1"))))
        #expect(!(try #require(AddressRange("2001:db8::/65")).contains(try #require(IPAddress("2001:db8::8000:0:0:1")))))
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "nope", "10.0.0.0/8/8", "10.0.0.0/٨"] {
            #expect(AddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func forwardingHeadersAreRead() {
        #expect(ForwardedFor.xForwardedFor("203.0.113.7, 10.0.0.1,10.0.0.2") == ["203.0.113.7", "10.0.0.1", "10.0.0.2"])
        #expect(
            ForwardedFor.forwarded(#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https, by=x;for=unknown"#)
                == ["192.0.2.43", "[2001:db8:cafe::17]:4711", "unknown"])
        #expect(ForwardedFor.forwarded(#"for="a,b";proto=http, proto=https"#) == ["a,b", ""])
        // A quote the client left open would swallow what the proxy appended: no address at all.
        #expect(ForwardedFor.forwarded(#"for=6.6.6.6;x=", for=203.0.113.9"#) == [""])
        #expect(ForwardedFor.forwarded(#"for="6.6.6.6"#) == [""])
        let hops: [(Substring, String?)] = [
            ("203.0.113.7", "203.0.113.7"), ("203.0.113.7:4711", "203.0.113.7"), ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"), ("[2001:db8::1]:4711", "2001:db8::1"), ("unknown", nil),
            ("_hidden", nil), ("[203.0.113.7]", nil), ("203.0.113.7:http", nil), ("", nil), ("[::1", nil),
        ]
        for (hop, want) in hops { #expect(ForwardedFor.address(hop)?.description == want, "\(hop)") }
    }

    @Test func aBadTrustedProxyIsAConfigurationError() throws {
        var config = Configuration()
        config.trustedProxies = ["10.0.0.0/8", "proxy.internal"]
        do {
            try config.validate()
            Issue.record("a host name was accepted as a trusted proxy")
        } catch {
            #expect(error.description.contains("proxy.internal") && error.description.contains("trustedProxies"))
        }
        config.trustedProxies = ["10.0.0.0/8", "127.0.0.1", "fd00::/8"]
        try config.validate()
    }

    private static func serve(_ backend: Backend, header: ClientAddressHeader = .xForwardedFor) throws -> RunningServer {
        let router = Router()
        router.get("/who") { req in .text(req.clientAddress?.description ?? "none") }
        router.get("/who/async") { (req: Request) async in .text(req.clientAddress?.description ?? "none") }
        var config = Configuration(host: "127.0.0.1", port: 0)
        config.drainMilliseconds = 0  // a test stops at once
        config.workers = 1
        config.backend = backend
        config.trustedProxies = ["127.0.0.1", "10.0.0.0/8"]
        config.clientAddressHeader = header
        return try Server(configuration: config).start(router)
    }

    /// Each case: where the request comes from, its forwarding header, and
    /// the client address it must get.
    static let xffCases: [(UInt32, String?, String)] = [
        (0x7f00_0001, nil, "127.0.0.1"),  // a trusted peer with no header is the client
        (0x7f00_0001, "203.0.113.9", "203.0.113.9"),
        (0x7f00_0001, "203.0.113.9, 10.1.2.3", "203.0.113.9"),  // trusted hops are skipped
        (0x7f00_0001, "198.51.100.66, 203.0.113.9", "203.0.113.9"),  // the client's own entry is not believed
        (0x7f00_0001, "10.0.0.5, 10.1.2.3", "10.0.0.5"),  // all trusted: the left-most
        (0x7f00_0001, "203.0.113.9, garbage", "127.0.0.1"),  // the walk stops at what is no address
        (0x7f00_0001, "[2001:db8::9]:4711", "2001:db8::9"),
        (0x7f00_0002, "203.0.113.9", "127.0.0.2"),  // an untrusted peer: its header is ignored
    ]

    @Test(arguments: EndToEndTests.backends) func behindTrustedProxiesOnly(backend: Backend) throws {
        let server = try Self.serve(backend)
        defer { server.stop() }
        for path in ["/who", "/who/async"] {
            for (source, xff, want) in Self.xffCases {
                let c = try TestClient(port: server.port, from: source)
                let r = try c.request("GET", path, headers: xff.map { ["X-Forwarded-For": $0] } ?? [:])
                #expect(r.status == 200 && r.text == want, "\(path) from \(source) with \(xff ?? "-"): \(r.text)")
            }
            // Two X-Forwarded-For fields are one list, in order.
            let c = try TestClient(port: server.port)
            try c.send("GET \(path) HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.66\r\nX-Forwarded-For: 203.0.113.9, 10.0.0.1\r\n\r\n")
            #expect(try c.read().text == "203.0.113.9", "\(path), two fields")
            // The other header is not read when X-Forwarded-For is the one named.
            let other = try c.request("GET", path, headers: ["Forwarded": "for=203.0.113.9"])
            #expect(other.text == "127.0.0.1", "\(path): Forwarded ignored")
        }
    }

    @Test(arguments: EndToEndTests.backends) func theForwardedHeaderWhenNamed(backend: Backend) throws {
        let server = try Self.serve(backend, header: .forwarded)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        let cases: [(String, String)] = [
            ("for=203.0.113.9", "203.0.113.9"),
            (#"for=198.51.100.66, for="[2001:db8::9]:4711";proto=https"#, "2001:db8::9"),
            ("for=203.0.113.9;proto=http, for=10.0.0.1", "203.0.113.9"),
            ("for=unknown", "127.0.0.1"),
            (#"for=198.51.100.66;x=", for=10.0.0.1"#, "127.0.0.1"),  // an open quote: the walk stops at the peer
        ]
        for (value, want) in cases {
            #expect(try c.request("GET", "/who/async", headers: ["Forwarded": value]).text == want, "\(value)")
        }
        #expect(try c.request("GET", "/who", headers: ["X-Forwarded-For": "203.0.113.9"]).text == "127.0.0.1")
    }

    /// RequestLogger starts its line with the client's address.
    @Test(arguments: EndToEndTests.backends) func theAccessLogNamesTheClient(backend: Backend) throws {
        let lines = Lines()
        let router = Router()
        router.use(RequestLogger(logger: Logger(label: "test.access") { _ in CapturingHandler(lines) }))
        router.get("/x") { _ in .text("x") }
        var config = Configuration(host: "127.0.0.1", port: 0)
        config.drainMilliseconds = 0  // a test stops at once
        config.workers = 1
        config.backend = backend
        config.trustedProxies = ["127.0.0.1"]
        let server = try Server(configuration: config).start(router)
        defer { server.stop() }
        _ = try TestClient(port: server.port).request("GET", "/x", headers: ["X-Forwarded-For": "203.0.113.9"])
        _ = try TestClient(port: server.port, from: 0x7f00_0002).request("GET", "/x", headers: ["X-Forwarded-For": "203.0.113.9"])
        let got = lines.all.withLock { $0 }
        #expect(got.count == 2)
        #expect(got.first?.hasPrefix("203.0.113.9 GET /x 200") == true, "\(got)")
        #expect(got.last?.hasPrefix("127.0.0.2 GET /x 200") == true, "\(got)")
    }

    final class Lines: Sendable {
        let all = Mutex<[String]>([])
    }

    struct CapturingHandler: LogHandler {
        let lines: Lines
        init(_ lines: Lines) { self.lines = lines }
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.all.withLock { $0.append("\(event.message)") } }
    }
}
