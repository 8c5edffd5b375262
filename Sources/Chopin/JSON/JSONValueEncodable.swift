/// A type that writes itself as one JSON value, straight into a
/// ``JSONWriter`` (the connection's buffer under `ctx.json`), with no heap
/// allocation. Strings, integers, `Bool`, `Double`, `Float`, optionals,
/// arrays and `[String: T]` of such values have it; `@JSON` types and
/// ``JSONEncodable`` types get it.
public protocol JSONValueEncodable {
    func writeJSON(to writer: inout JSONWriter) throws(JSONError)
}

extension String: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.string(self) }
}

extension Bool: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.bool(self) }
}

extension Double: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { try w.double(self) }
}

extension Float: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { try w.double(Double(self)) }
}

extension Int: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int8: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int16: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int32: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension Int64: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt8: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt16: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt32: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

extension UInt64: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) { w.int(self) }
}

/// nil is `null`. (`@JSON` leaves a nil field out instead, as `Codable` does.)
extension Optional: JSONValueEncodable where Wrapped: JSONValueEncodable {
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) {
        if let v = self { try v.writeJSON(to: &w) } else { w.null() }
    }
}

extension Array: JSONValueEncodable where Element: JSONValueEncodable {
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
