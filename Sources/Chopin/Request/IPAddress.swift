#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address, without a port: ``Request/clientAddress``, and
/// ``PeerAddress/address``.
///
/// ```swift
/// router.get("/whoami") { req in .text(req.clientAddress?.description ?? "unknown") }
/// ```
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 6.
    let family: UInt8
    /// The 16 address bytes in network order, packed (IPv4: the first 4).
    let high: UInt64
    let low: UInt64

    init(family: UInt8, high: UInt64, low: UInt64) {
        self.family = family
        self.high = high
        self.low = low
    }

    /// Reads "203.0.113.7" or "2001:db8::1" (an IPv4-mapped IPv6 address,
    /// `::ffff:203.0.113.7`, reads as the IPv4 address); nil for anything else.
    public init?(_ text: some StringProtocol) {
        var bytes = [UInt8](repeating: 0, count: 16)
        let parsed = String(text).withCString { s in
            if inet_pton(AF_INET, s, &bytes) == 1 { return UInt8(4) }
            if inet_pton(AF_INET6, s, &bytes) == 1 { return UInt8(6) }
            return UInt8(0)
        }
        guard parsed != 0 else { return nil }
        self = bytes.withUnsafeBytes { IPAddress(family: parsed, bytes: $0) }
    }

    /// From 16 bytes in network order (an IPv4 address in the first 4).
    init(family: UInt8, bytes: UnsafeRawBufferPointer) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        // ::ffff:a.b.c.d is the IPv4 client of a dual-stack socket.
        if family == 6 && high == 0 && low >> 32 == 0xFFFF {
            self.init(family: 4, high: (low & 0xFFFF_FFFF) << 32, low: 0)
        } else {
            self.init(family: family, high: high, low: low)
        }
    }

    /// Whether it is an IPv6 address.
    public var isIPv6: Bool { family == 6 }

    /// The address's 4 (IPv4) or 16 (IPv6) bytes, in network order.
    public var bytes: [UInt8] {
        let all = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        return isIPv6 ? all : Array(all.prefix(4))
    }

    /// "203.0.113.7" or "2001:db8::1".
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(isIPv6 ? AF_INET6 : AF_INET, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address or a CIDR range of them ("10.0.0.0/8", "fd00::/8",
/// "192.0.2.10"), as ``Configuration/trustedProxies`` lists them.
struct AddressRange: Sendable, Hashable {
    let base: IPAddress
    let prefixLength: Int

    /// nil for anything that is not an address, optionally with a prefix
    /// length that fits its family.
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.isIPv6 ? 128 : 32
        var length = bits
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= bits, parts[1].allSatisfy(\.isASCII) else { return nil }
            length = n
        }
        base = address
        prefixLength = length
    }

    func contains(_ address: IPAddress) -> Bool {
        guard address.family == base.family else { return false }
        let (hm, lm) = Self.mask(prefixLength)
        return address.high & hm == base.high & hm && address.low & lm == base.low & lm
    }

    /// The prefix as masks over the address's high and low 64 bits.
    private static func mask(_ n: Int) -> (UInt64, UInt64) {
        func ones(_ k: Int) -> UInt64 { k <= 0 ? 0 : k >= 64 ? ~0 : ~0 << (64 - k) }
        return (ones(n), ones(n - 64))
    }
}
