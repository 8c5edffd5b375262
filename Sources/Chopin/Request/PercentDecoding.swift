/// Percent-decoding (RFC 3986 section 2.1) of route parameters and query
/// fields, under one rule: a value is decoded exactly once, then parsed.
///
/// Decoding twice would let `%252e` become `.` behind a check that saw
/// `%2e`; keeping a malformed escape or repairing bytes that are not UTF-8
/// would hand a handler a value the client never sent. So both refuse the
/// request instead (400 naming the field, through ``ExtractionError``).
enum PercentDecoding {
    enum Failure: Error, Sendable {
        /// A `%` not followed by two hex digits.
        case malformedEscape
        /// Escapes that decode to bytes that are not UTF-8.
        case invalidUTF8
    }

    /// Calls `body` with the decoded bytes: `raw` itself when it holds no
    /// escape (the common case, with no copy), else a decoded copy. `field`
    /// names the value in the 400 a malformed escape gets.
    static func withDecodedBytes<R>(
        _ raw: UnsafeRawBufferPointer, plusIsSpace: Bool = false, field: @autoclosure () -> String?,
        _ body: (UnsafeRawBufferPointer) -> R
    ) throws(ExtractionError) -> R {
        guard needsDecoding(raw, plusIsSpace: plusIsSpace) else { return body(raw) }
        do {
            return try decoded(raw, plusIsSpace: plusIsSpace).withUnsafeBytes(body)
        } catch {
            throw ExtractionError(error, field: field())
        }
    }

    /// The decoded value as a String; a 400 naming `field` when it is not UTF-8.
    static func string(
        _ raw: UnsafeRawBufferPointer, plusIsSpace: Bool = false, field: @autoclosure () -> String?
    ) throws(ExtractionError) -> String {
        let text = try withDecodedBytes(raw, plusIsSpace: plusIsSpace, field: field()) {
            String(validating: $0, as: UTF8.self)
        }
        guard let text else { throw ExtractionError(.invalidUTF8, field: field()) }
        return text
    }

    /// Whether `raw` holds anything to decode. An index loop, not a Sequence
    /// algorithm: `Path<Int>` calls it per request, and unspecialized
    /// generics (debug builds) would allocate.
    private static func needsDecoding(_ raw: UnsafeRawBufferPointer, plusIsSpace: Bool) -> Bool {
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "%") || (plusIsSpace && raw[i] == UInt8(ascii: "+")) { return true }
            i += 1
        }
        return false
    }

    private static func decoded(_ raw: UnsafeRawBufferPointer, plusIsSpace: Bool) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let c = raw[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < raw.count, let high = hexValue(raw[i + 1]), let low = hexValue(raw[i + 2]) else {
                    throw .malformedEscape
                }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(plusIsSpace && c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c)
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension ExtractionError {
    /// The 400 a value that does not decode gets.
    init(_ failure: PercentDecoding.Failure, field: String?) {
        switch failure {
        case .malformedEscape: self.init(.badRequest, "malformed percent-encoding", field: field)
        case .invalidUTF8: self.init(.badRequest, "percent-encoding decodes to invalid UTF-8", field: field)
        }
    }
}
