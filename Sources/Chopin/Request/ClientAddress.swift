/// The proxies whose forwarding headers the server believes, from
/// ``Configuration/trustedProxies`` and ``Configuration/clientAddressHeader``:
/// how ``Request/clientAddress`` is found behind them.
final class TrustedProxies: Sendable {
    let ranges: [AddressRange]
    let header: ClientAddressHeader

    /// No proxy trusted: the client is always the peer.
    static let none = TrustedProxies(ranges: [], header: .xForwardedFor)

    init(ranges: [AddressRange], header: ClientAddressHeader) {
        self.ranges = ranges
        self.header = header
    }

    /// Reads the configuration's list; the first entry that is neither an
    /// address nor a CIDR range is named in the error.
    convenience init(_ entries: [String], header: ClientAddressHeader) throws(ConfigurationError) {
        var ranges: [AddressRange] = []
        for entry in entries {
            guard let range = AddressRange(entry) else {
                throw ConfigurationError(
                    description: "trustedProxies: '\(entry)' is neither an IP address nor a CIDR range (10.0.0.0/8, fd00::/8)")
            }
            ranges.append(range)
        }
        self.init(ranges: ranges, header: header)
    }

    func trusts(_ address: IPAddress) -> Bool { ranges.contains { $0.contains(address) } }

    /// The client behind `peer`: when `peer` is a trusted proxy, the
    /// right-most address of the forwarding header that is not a trusted
    /// proxy (each proxy appends the address it received from, so only what
    /// the trusted ones appended can be believed; anything to its left may
    /// be the client's own invention). All of them trusted: the left-most.
    /// An entry that is no address (`unknown`, an obfuscated name,
    /// garbage) ends the walk at the proxy that appended it.
    func client(of peer: IPAddress, _ request: borrowing Request) -> IPAddress {
        guard !ranges.isEmpty, trusts(peer) else { return peer }
        var hops: [Substring] = []
        for h in request.headers where h.name.utf8.count == header.fieldName.utf8.count {
            guard h.name.lowercased() == header.fieldName else { continue }
            switch header {
            case .xForwardedFor: hops += ForwardedFor.xForwardedFor(h.value)
            case .forwarded: hops += ForwardedFor.forwarded(h.value)
            }
        }
        var client = peer
        for hop in hops.reversed() {
            guard let address = ForwardedFor.address(hop) else { return client }
            client = address
            if !trusts(address) { return address }
        }
        return client
    }
}

/// Which header the trusted proxies append the client's address to.
public enum ClientAddressHeader: Sendable {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx's
    /// `$proxy_add_x_forwarded_for`, most load balancers).
    case xForwardedFor
    /// `Forwarded: for=client, for="[2001:db8::1]:4711"` (RFC 7239).
    case forwarded

    var fieldName: String {
        switch self {
        case .xForwardedFor: "x-forwarded-for"
        case .forwarded: "forwarded"
        }
    }
}

/// The readers of the forwarding headers' lists.
enum ForwardedFor {
    /// The elements of an X-Forwarded-For value, in order.
    static func xForwardedFor(_ value: String) -> [Substring] {
        value.split(separator: ",").map { $0.trimmingSpaces }
    }

    /// The `for=` of each element of a Forwarded value, in order (an
    /// element without one counts as an entry that is no address). A value
    /// whose quoted string never ends is one entry that is no address: the
    /// client may have opened the quote to swallow what the proxy appended
    /// after it (`for=6.6.6.6;x="` becoming `for=6.6.6.6;x=", for=<real>`).
    static func forwarded(_ value: String) -> [Substring] {
        guard let elements = splitOutsideQuotes(Substring(value), ",") else { return [""] }
        return elements.map { element in
            for pair in splitOutsideQuotes(element, ";") ?? [] {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0].trimmingSpaces.lowercased() == "for" else { continue }
                var v = kv[1].trimmingSpaces
                if v.count >= 2, v.first == "\"", v.last == "\"" { v = v.dropFirst().dropLast() }
                return v
            }
            return ""
        }
    }

    /// Splits on `separator` where it is not inside a quoted string; nil
    /// when a quoted string is still open at the end.
    private static func splitOutsideQuotes(_ s: Substring, _ separator: Character) -> [Substring]? {
        var parts: [Substring] = []
        var start = s.startIndex
        var quoted = false
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "\"" {
                quoted.toggle()
            } else if c == "\\" && quoted {
                let next = s.index(after: i)
                if next < s.endIndex { i = next }
            } else if c == separator && !quoted {
                parts.append(s[start..<i])
                start = s.index(after: i)
            }
            i = s.index(after: i)
        }
        if quoted { return nil }
        parts.append(s[start..<s.endIndex])
        return parts
    }

    /// One hop as an address: "203.0.113.7", "203.0.113.7:4711",
    /// "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:4711"; nil otherwise.
    static func address(_ hop: Substring) -> IPAddress? {
        var h = hop.trimmingSpaces
        if h.first == "[" {
            guard let close = h.firstIndex(of: "]") else { return nil }
            let rest = h[h.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            h = h[h.index(after: h.startIndex)..<close]
            return IPAddress(h).flatMap { $0.isIPv6 ? $0 : nil }
        }
        // One colon: an IPv4 address and a port.
        if let colon = h.firstIndex(of: ":"), h[h.index(after: colon)...].firstIndex(of: ":") == nil {
            guard h[h.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
            h = h[..<colon]
            return IPAddress(h).flatMap { $0.isIPv6 ? nil : $0 }
        }
        return IPAddress(h)
    }
}
