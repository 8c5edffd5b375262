/// What a header a handler set on its ``Response`` is, for the writer:
/// framing headers are the server's, and a bad name or value would split
/// the response (the C writer refuses those too; judged here first, so
/// that the log can name the header).
enum HeaderCheck {
    enum Verdict: Equatable {
        case fine
        /// `Connection` with the `close` option: the close is honoured.
        case closeRequest
        /// `Content-Length`, `Transfer-Encoding`, or `Connection` without `close`.
        case framing
        case invalid(String)
    }

    static func judge(_ name: String, _ value: String) -> Verdict {
        var nameIsToken = !name.isEmpty
        for b in name.utf8 where !isTokenByte(b) {
            nameIsToken = false
            break
        }
        guard nameIsToken else { return .invalid("is not a valid header name") }
        for b in value.utf8 where (b < 0x20 && b != 0x09) || b == 0x7F {
            return .invalid("has a control character in its value")
        }
        switch name.lowercased() {
        case "content-length", "transfer-encoding":
            return .framing
        case "connection":
            let options = value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
            return options.contains("close") ? .closeRequest : .framing
        default:
            return .fine
        }
    }

    /// RFC 9110 tchar.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
