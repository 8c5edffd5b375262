/// What a request's `Accept-Encoding` allows (RFC 9110 section 12.5.3),
/// reduced to the choice ``Compression`` makes: gzip, deflate, or neither.
enum ContentCoding: Equatable {
    case gzip, deflate

    /// The choice for one header value.
    enum Choice: Equatable {
        /// Send as is: no header, or nothing we compress is wanted.
        case identity
        /// Compress with this coding; `required` when identity is refused
        /// (`identity;q=0`), so even a small body is compressed.
        case compress(ContentCoding, required: Bool)
        /// Identity is refused and nothing we have is accepted: 406.
        case notAcceptable
    }

    /// Each coding a header value names, lowercased, with its q-value
    /// (1 when absent, 0 when unreadable).
    private static func qualities(_ header: String, _ each: (String, Double) -> Void) {
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let name = parts.first?.trimmingSpaces.lowercased(), !name.isEmpty else { continue }
            var q = 1.0
            for param in parts.dropFirst() {
                let kv = param.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingSpaces.lowercased() == "q" {
                    q = Double(kv[1].trimmingSpaces).map { min(max($0, 0), 1) } ?? 0
                }
            }
            each(name, q)
        }
    }

    /// Whether a header value accepts `coding` (lowercase; "gzip" covers
    /// "x-gzip"): named with a q-value above 0, or left to a `*` that is.
    static func accepts(_ coding: String, _ header: String) -> Bool {
        var named: Double?, any: Double?
        qualities(header) { name, q in
            if name == coding || (coding == "gzip" && name == "x-gzip") {
                named = max(named ?? 0, q)
            } else if name == "*" {
                any = q
            }
        }
        return (named ?? any ?? 0) > 0
    }

    /// Picks the coding with the highest q-value (gzip on a tie); `*`
    /// stands for every coding the header does not name.
    static func choose(_ header: String?) -> Choice {
        guard let header else { return .identity }
        var gzip: Double?, deflate: Double?, identity: Double?, any: Double?
        qualities(header) { name, q in
            switch name {
            case "gzip", "x-gzip": gzip = q
            case "deflate": deflate = q
            case "identity": identity = q
            case "*": any = q
            default: break
            }
        }
        let g = gzip ?? any ?? 0, d = deflate ?? any ?? 0
        // Identity is acceptable unless named with q=0, or left to a `*;q=0`.
        let identityRefused = (identity ?? (any == 0 ? 0 : 1)) == 0
        if g == 0 && d == 0 { return identityRefused ? .notAcceptable : .identity }
        return .compress(g >= d ? .gzip : .deflate, required: identityRefused)
    }
}
