internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#endif

/// The address and port of the client at the other end of the connection,
/// as the server accepted it (the C core records it at accept, at no extra
/// cost). Behind a reverse proxy this is the proxy: the client's own address
/// is then in a header the proxy sets (`X-Forwarded-For`, `Forwarded`).
///
/// ```swift
/// router.get("/whoami") { ctx in .text(ctx.peer?.host ?? "unknown") }
/// ```
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 6.
    let family: UInt8
    /// The address bytes (4 or 16 of them) in network order, packed.
    let high: UInt64
    let low: UInt64
    /// The client's port.
    public let port: UInt16

    init?(_ p: chopin_peer) {
        guard p.family == 4 || p.family == 6 else { return nil }
        family = p.family
        var high: UInt64 = 0
        var low: UInt64 = 0
        withUnsafeBytes(of: p.addr) { bytes in
            for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
            for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        }
        self.high = high
        self.low = low
        port = p.port
    }

    /// Whether the client came over IPv6. An IPv4 client of a dual-stack
    /// listener (`::`) is reported as IPv4, with its IPv4 address.
    public var isIPv6: Bool { family == 6 }

    /// The address's 4 (IPv4) or 16 (IPv6) bytes, in network order.
    public var bytes: [UInt8] {
        let all = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        return isIPv6 ? all : Array(all.prefix(4))
    }

    /// The address as text: "203.0.113.7" or "2001:db8::1".
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let bytes = self.bytes
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(isIPv6 ? AF_INET6 : AF_INET, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "203.0.113.7:51234" or "[2001:db8::1]:51234".
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
