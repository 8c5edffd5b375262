/// Strings: escapes, control characters and UTF-8, checked in one pass.
extension JSONReader {
    enum ScannedString {
        /// No escapes: the bytes are in the input at start..<start+count.
        case plain(start: Int, count: Int)
        /// Escapes resolved into new bytes.
        case escaped([UInt8])
    }

    /// Reads a string whose opening quote is at the reader. With `keep`
    /// false (skipping) escapes are checked but nothing is built.
    mutating func scanString(keep: Bool = true) throws(JSONDecodingError) -> ScannedString {
        pos += 1
        let start = pos
        var high: UInt8 = 0
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                if high & 0x80 != 0 { try validateUTF8(start, pos) }
                pos += 1
                return .plain(start: start, count: pos - 1 - start)
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { break }
            high |= c
            pos += 1
        }
        if high & 0x80 != 0 { try validateUTF8(start, pos) }
        var out: [UInt8] = []
        if keep { out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: pos - start)) }
        var runStart = pos
        while true {
            guard pos < count else { throw malformed("unterminated string") }
            let c = base[pos]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                try validateUTF8(runStart, pos)
                if keep { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: pos - runStart)) }
                if c == UInt8(ascii: "\"") {
                    pos += 1
                    break
                }
                try escape(into: &out, keep: keep)
                runStart = pos
                continue
            }
            if c < 0x20 { throw malformed("control character in string") }
            pos += 1
        }
        return .escaped(out)
    }

    /// One escape sequence, the reader on its backslash.
    private mutating func escape(into out: inout [UInt8], keep: Bool) throws(JSONDecodingError) {
        pos += 1
        guard pos < count else { throw malformed("unterminated string") }
        let e = base[pos]
        pos += 1
        let simple: UInt8
        switch e {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar >= 0xD800 && scalar < 0xDC00 {
                guard count - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                    throw malformed("unpaired surrogate")
                }
                pos += 2
                let low = try hex4()
                guard low >= 0xDC00 && low < 0xE000 else { throw malformed("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar < 0xE000 {
                throw malformed("unpaired surrogate")
            }
            guard let u = Unicode.Scalar(scalar) else { throw malformed("invalid \\u escape") }
            if keep, let units = UTF8.encode(u) { out.append(contentsOf: units) }
            return
        default:
            throw malformed("invalid escape")
        }
        if keep { out.append(simple) }
    }

    private mutating func hex4() throws(JSONDecodingError) -> UInt32 {
        guard count - pos >= 4 else { throw malformed("unexpected end of input") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[pos]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw malformed("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// Checks base[from..<to] is UTF-8 (RFC 3629: no overlongs, no
    /// surrogates, nothing past U+10FFFF).
    private func validateUTF8(_ from: Int, _ to: Int) throws(JSONDecodingError) {
        var i = from
        while i < to {
            let c = base[i]
            if c < 0x80 {
                i += 1
                continue
            }
            let n: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: n = 1
            case 0xE0: n = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: n = 2
            case 0xED: n = 2; hi = 0x9F
            case 0xF0: n = 3; lo = 0x90
            case 0xF1...0xF3: n = 3
            case 0xF4: n = 3; hi = 0x8F
            default: throw JSONDecodingError(.malformed, "invalid UTF-8", offset: i)
            }
            guard to - i > n else { throw JSONDecodingError(.malformed, "invalid UTF-8", offset: i) }
            let second = base[i + 1]
            guard second >= lo && second <= hi else { throw JSONDecodingError(.malformed, "invalid UTF-8", offset: i) }
            var k = 2
            while k <= n {
                guard base[i + k] & 0xC0 == 0x80 else { throw JSONDecodingError(.malformed, "invalid UTF-8", offset: i) }
                k += 1
            }
            i += n + 1
        }
    }
}
