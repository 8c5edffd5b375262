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

    // Per header of every answer that has headers: nothing is allocated
    // unless the header is a Connection one.
    static func judge(_ name: String, _ value: String) -> Verdict {
        guard !name.isEmpty, name.utf8.allSatisfy(Method.isTokenByte) else {
            return .invalid("is not a valid header name")
        }
        for b in value.utf8 where (b < 0x20 && b != 0x09) || b == 0x7F {
            return .invalid("has a control character in its value")
        }
        if named(name, "content-length") || named(name, "transfer-encoding") { return .framing }
        guard named(name, "connection") else { return .fine }
        let closes = value.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == "close" }
        return closes ? .closeRequest : .framing
    }

    /// Whether `name` is `lowercase` (a lowercase ASCII name), in any case.
    private static func named(_ name: String, _ lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        var i = 0
        for b in name.utf8 {
            guard b | 0x20 == lowercase.utf8Start[i] | 0x20 else { return false }
            i += 1
        }
        return true
    }
}
