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
    /// The address without the port.
    public let address: IPAddress
    /// The client's port.
    public let port: UInt16

    init?(_ p: chopin_peer) {
        guard p.family == 4 || p.family == 6 else { return nil }
        address = withUnsafeBytes(of: p.addr) { IPAddress(family: p.family, bytes: $0) }
        port = p.port
    }

    /// Whether the client came over IPv6. An IPv4 client of a dual-stack
    /// listener (`::`) is reported as IPv4, with its IPv4 address.
    public var isIPv6: Bool { address.isIPv6 }

    /// The address's 4 (IPv4) or 16 (IPv6) bytes, in network order.
    public var bytes: [UInt8] { address.bytes }

    /// The address as text: "203.0.113.7" or "2001:db8::1".
    public var host: String { address.description }

    /// "203.0.113.7:51234" or "[2001:db8::1]:51234".
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
