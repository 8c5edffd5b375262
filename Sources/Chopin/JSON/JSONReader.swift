/// A pull reader over JSON bytes: `@JSON`-generated decoders and the
/// `Codable` decoder read values in place from it, with no tree in between.
///
/// It is as strict as RFC 8259 and bounded: nesting deeper than
/// ``maxDepth``, a number longer than ``maxNumberLength`` bytes, invalid
/// UTF-8, a control character or a bad escape in a string is a
/// ``JSONDecodingError`` (`malformed`), never a trap.
///
/// ```swift
/// var r = JSONReader(bytes)
/// var more = try r.beginObject()
/// while more {
///     let key = try r.readKey()
///     if key.matches("id") { id = try r.readInteger(UInt64.self) } else { try r.skipValue() }
///     more = try r.nextMember()
/// }
/// try r.end()
/// ```
public struct JSONReader {
    /// How deep objects and arrays may nest.
    public static let maxDepth = 128
    /// The longest number, in bytes, that is read.
    public static let maxNumberLength = 400

    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let count: Int
    @usableFromInline var pos = 0
    @usableFromInline var depth = 0

    /// A reader over `bytes`, which must outlive it.
    public init(_ bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        if let p = bytes.baseAddress, bytes.count > 0 {
            base = p.assumingMemoryBound(to: UInt8.self)
        } else {
            base = JSONReader.empty
        }
    }

    nonisolated(unsafe) private static let empty: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    /// The byte offset the reader is at.
    public var offset: Int { pos }

    // ---- bytes ------------------------------------------------------------------

    @inline(__always)
    mutating func skipSpace() {
        while pos < count {
            switch base[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    /// The next byte that is not white space (0 at the end).
    @inline(__always)
    mutating func peek() -> UInt8 {
        skipSpace()
        return pos < count ? base[pos] : 0
    }

    func malformed(_ message: String) -> JSONDecodingError {
        JSONDecodingError(.malformed, message, offset: pos)
    }

    /// A "found X" description of what is at the reader.
    mutating func found() -> String {
        switch peek() {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        case 0: return "the end of the input"
        default: return "an unexpected character"
        }
    }

    /// An error for a value of the wrong type: malformed if what is there is
    /// not JSON at all, else a mismatch.
    mutating func mismatch(_ expected: String) -> JSONDecodingError {
        let what = found()
        if what == "the end of the input" || what == "an unexpected character" {
            return malformed("expected \(expected), found \(what)")
        }
        return JSONDecodingError(.mismatch, "expected \(expected), found \(what)", offset: pos)
    }

    /// Checks that only white space is left.
    public mutating func end() throws(JSONDecodingError) {
        skipSpace()
        guard pos == count else { throw malformed("unexpected data after the value") }
    }

    // ---- containers -------------------------------------------------------------

    @inline(__always)
    mutating func enter() throws(JSONDecodingError) {
        depth += 1
        guard depth <= JSONReader.maxDepth else {
            throw JSONDecodingError(.malformed, "nested deeper than \(JSONReader.maxDepth)", offset: pos)
        }
    }

    /// Reads `{`; true when the object has a first member.
    public mutating func beginObject() throws(JSONDecodingError) -> Bool {
        guard peek() == UInt8(ascii: "{") else { throw mismatch("an object") }
        pos += 1
        try enter()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return false
        }
        return true
    }

    /// After a member's value: reads `,` (true: another member follows) or `}`.
    public mutating func nextMember() throws(JSONDecodingError) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            pos += 1
            return true
        case UInt8(ascii: "}"):
            pos += 1
            depth -= 1
            return false
        default: throw malformed("expected ',' or '}'")
        }
    }

    /// Reads `[`; true when the array has a first element.
    public mutating func beginArray() throws(JSONDecodingError) -> Bool {
        guard peek() == UInt8(ascii: "[") else { throw mismatch("an array") }
        pos += 1
        try enter()
        if peek() == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return false
        }
        return true
    }

    /// After an element: reads `,` (true: another element follows) or `]`.
    public mutating func nextElement() throws(JSONDecodingError) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            pos += 1
            return true
        case UInt8(ascii: "]"):
            pos += 1
            depth -= 1
            return false
        default: throw malformed("expected ',' or ']'")
        }
    }

    /// Reads a member name and its `:`. The key's bytes are valid until the
    /// next read.
    public mutating func readKey() throws(JSONDecodingError) -> JSONMemberName {
        guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a member name") }
        let key: JSONMemberName
        switch try scanString() {
        case .plain(let start, let n):
            key = JSONMemberName(base: base + start, count: n, unescaped: nil)
        case .escaped(let bytes):
            key = JSONMemberName(base: base, count: bytes.count, unescaped: bytes)
        }
        guard peek() == UInt8(ascii: ":") else { throw malformed("expected ':'") }
        pos += 1
        return key
    }

    // ---- scalars ----------------------------------------------------------------

    /// Reads `null` if it is next; false (and nothing read) otherwise.
    public mutating func readNull() throws(JSONDecodingError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// Reads `true` or `false`; any other value is a ``JSONDecodingError/Kind/mismatch`` error.
    public mutating func readBool() throws(JSONDecodingError) -> Bool {
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default: throw mismatch("a boolean")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONDecodingError) {
        let n = word.utf8CodeUnitCount
        guard count - pos >= n else { throw malformed("unexpected end of input") }
        for i in 0..<n where base[pos + i] != word.utf8Start[i] { throw malformed("invalid literal") }
        pos += n
    }

    /// Reads a string, with its escapes decoded; any other value is a
    /// ``JSONDecodingError/Kind/mismatch`` error.
    public mutating func readString() throws(JSONDecodingError) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw mismatch("a string") }
        switch try scanString() {
        case .plain(let start, let n):
            return String(decoding: UnsafeBufferPointer(start: base + start, count: n), as: UTF8.self)
        case .escaped(let bytes):
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// Checks a number's grammar from the reader on; returns where it ends
    /// and whether it has a fraction or an exponent.
    mutating func scanNumber() throws(JSONDecodingError) -> (start: Int, end: Int, integral: Bool) {
        let start = pos
        var p = pos
        if p < count && base[p] == UInt8(ascii: "-") { p += 1 }
        guard p < count, JSONReader.isDigit(base[p]) else { throw malformed("invalid number") }
        if base[p] == UInt8(ascii: "0") {
            p += 1
        } else {
            while p < count && JSONReader.isDigit(base[p]) { p += 1 }
        }
        var integral = true
        if p < count && base[p] == UInt8(ascii: ".") {
            integral = false
            p += 1
            guard p < count, JSONReader.isDigit(base[p]) else { pos = p; throw malformed("invalid number") }
            while p < count && JSONReader.isDigit(base[p]) { p += 1 }
        }
        if p < count && (base[p] | 0x20) == UInt8(ascii: "e") {
            integral = false
            p += 1
            if p < count && (base[p] == UInt8(ascii: "+") || base[p] == UInt8(ascii: "-")) { p += 1 }
            guard p < count, JSONReader.isDigit(base[p]) else { pos = p; throw malformed("invalid number") }
            while p < count && JSONReader.isDigit(base[p]) { p += 1 }
        }
        guard p - start <= JSONReader.maxNumberLength else { throw malformed("number too long") }
        pos = p
        return (start, p, integral)
    }

    /// Reads an integer exactly: `1.5`, `1e3` and `300` for a `UInt8` are
    /// mismatches, not rounded.
    public mutating func readInteger<T: FixedWidthInteger>(_ type: T.Type) throws(JSONDecodingError) -> T {
        let c = peek()
        guard c == UInt8(ascii: "-") || JSONReader.isDigit(c) else { throw mismatch("an integer") }
        let at = pos
        let (start, end, integral) = try scanNumber()
        guard integral else { throw JSONDecodingError(.invalidValue, "expected \(T.self), found a fraction", offset: at) }
        var i = start
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var v: T = 0
        while i < end {
            let d = T(truncatingIfNeeded: base[i] &- UInt8(ascii: "0"))
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            guard !o1 && !o2 else { throw JSONDecodingError(.invalidValue, "out of range for \(T.self)", offset: at) }
            v = s
            i += 1
        }
        return v
    }

    /// Reads any number as a `Double` (to the nearest one); a number beyond `Double`'s
    /// range is a ``JSONDecodingError/Kind/invalidValue`` error, a non-number a mismatch.
    public mutating func readDouble() throws(JSONDecodingError) -> Double {
        let c = peek()
        guard c == UInt8(ascii: "-") || JSONReader.isDigit(c) else { throw mismatch("a number") }
        let at = pos
        let (start, end, integral) = try scanNumber()
        // Up to 15 digits, an integer is exact in a Double: no parsing needed.
        if integral && end - start <= 15 {
            var i = start
            let negative = base[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            var v: Int64 = 0
            while i < end {
                v = v &* 10 &+ Int64(base[i] &- UInt8(ascii: "0"))
                i += 1
            }
            return Double(negative ? -v : v)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            throw JSONDecodingError(.invalidValue, "number out of range", offset: at)
        }
        return d
    }

    /// The bytes of a number, checked (for decoders that keep numbers as text).
    mutating func readNumberText() throws(JSONDecodingError) -> String {
        let (start, end, _) = try scanNumber()
        return String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }

    // ---- skipping ---------------------------------------------------------------

    /// Reads past one value of any type, checking it as strictly as any other.
    public mutating func skipValue() throws(JSONDecodingError) {
        switch peek() {
        case UInt8(ascii: "\""): _ = try scanString(keep: false)
        case UInt8(ascii: "{"):
            var more = try beginObject()
            while more {
                _ = try readKey()
                try skipValue()
                more = try nextMember()
            }
        case UInt8(ascii: "["):
            var more = try beginArray()
            while more {
                try skipValue()
                more = try nextElement()
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        case 0 where pos >= count: throw malformed("unexpected end of input")
        default: throw malformed("unexpected character")
        }
    }
}

/// A member name as read: compare it with ``matches(_:)``.
public struct JSONMemberName {
    let base: UnsafePointer<UInt8>
    /// The name's length in UTF-8 bytes, escapes resolved.
    public let count: Int
    let unescaped: [UInt8]?

    /// Whether the name is exactly `name` (compared as bytes).
    @inline(__always)
    public func matches(_ name: StaticString) -> Bool {
        guard name.utf8CodeUnitCount == count else { return false }
        if let unescaped {
            for i in 0..<count where unescaped[i] != name.utf8Start[i] { return false }
            return true
        }
        let other = name.utf8Start
        for i in 0..<count where base[i] != other[i] { return false }
        return true
    }

    /// The name as a String (for errors and dictionaries).
    public var string: String {
        if let unescaped { return String(decoding: unescaped, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    /// Whether the name is exactly the UTF-8 of `name`.
    func matches(_ name: inout String) -> Bool {
        name.withUTF8 { u in
            guard u.count == count else { return false }
            if let unescaped { return unescaped.elementsEqual(u) }
            for i in 0..<count where base[i] != u[i] { return false }
            return true
        }
    }
}
