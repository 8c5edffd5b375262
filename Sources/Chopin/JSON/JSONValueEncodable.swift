/// A type that writes itself as one JSON value, straight into a
/// ``JSONWriter`` (the connection's buffer under `ctx.json`), with no heap
/// allocation. Strings, integers, `Bool`, `Double`, `Float`, optionals,
/// arrays and `[String: T]` of such values have it; `@JSON` types and
/// ``JSONEncodable`` types get it.
public protocol JSONValueEncodable {
    /// Writes this value to `writer` as one complete JSON value.
    func writeJSON(to writer: inout JSONWriter) throws(JSONError)
}

extension String: JSONValueEncodable {
    /// Writes the string, quoted and escaped.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.string(self) }
}

extension Bool: JSONValueEncodable {
    /// Writes `true` or `false`.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.bool(self) }
}

extension Double: JSONValueEncodable {
    /// Writes the number in its shortest round-tripping form; NaN and infinities throw
    /// ``JSONError/unrepresentable(_:)``.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { try w.double(self) }
}

extension Float: JSONValueEncodable {
    /// Writes the number as the `Double` it widens to; NaN and infinities throw
    /// ``JSONError/unrepresentable(_:)``.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { try w.double(Double(self)) }
}

extension Int: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int8: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int16: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int32: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int64: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt8: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt16: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt32: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt64: JSONValueEncodable {
    /// Writes the integer as a JSON number.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

/// nil is `null`. (`@JSON` leaves a nil field out instead, as `Codable` does.)
extension Optional: JSONValueEncodable where Wrapped: JSONValueEncodable {
    /// Writes the wrapped value, or `null` for nil.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) {
        if let v = self { try v.writeJSON(to: &w) } else { w.null() }
    }
}

extension Array: JSONValueEncodable where Element: JSONValueEncodable {
    /// Writes a JSON array of the elements, in order.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) {
        try w.beginArray()
        var first = true
        for e in self {
            if !first { w.byte(UInt8(ascii: ",")) }
            first = false
            try e.writeJSON(to: &w)
        }
        w.endArray()
    }
}

extension Dictionary: JSONValueEncodable where Key == String, Value: JSONValueEncodable {
    /// Writes a JSON object with one member per key, in the dictionary's iteration order.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) {
        try w.beginObject()
        var first = true
        for (k, v) in self {
            if !first { w.byte(UInt8(ascii: ",")) }
            first = false
            w.string(k)
            w.byte(UInt8(ascii: ":"))
            try v.writeJSON(to: &w)
        }
        w.endObject()
    }
}

/// Enums with a raw value write their raw value (`@JSON enum Status: String`).
extension RawRepresentable where Self: JSONValueEncodable, RawValue: JSONValueEncodable {
    /// Writes the raw value.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { try rawValue.writeJSON(to: &w) }
}

extension JSONWriter {
    /// `[` for a value that closes itself (no sibling bookkeeping).
    mutating func beginArray() throws(JSONError) {
        guard depth < JSONWriter.maxDepth else {
            throw JSONError.unrepresentable("nested deeper than \(JSONWriter.maxDepth)")
        }
        depth += 1
        byte(UInt8(ascii: "["))
    }

    mutating func endArray() {
        depth -= 1
        byte(UInt8(ascii: "]"))
    }

    mutating func beginObject() throws(JSONError) {
        guard depth < JSONWriter.maxDepth else {
            throw JSONError.unrepresentable("nested deeper than \(JSONWriter.maxDepth)")
        }
        depth += 1
        byte(UInt8(ascii: "{"))
    }

    mutating func endObject() {
        depth -= 1
        byte(UInt8(ascii: "}"))
    }
}
