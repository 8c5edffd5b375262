/// A type that writes its own JSON object, with no intermediate values and
/// no heap allocation: the fast path of `ctx.json`. `@JSON` (the
/// `ChopinJSON` product) writes this for you; by hand it reads:
///
/// ```swift
/// struct User: Codable, JSONEncodable {
///     let id: UInt64, username: String
///     func encodeJSON(to w: inout JSONObjectWriter) {
///         w.field("id", id)
///         w.field("username", username)
///     }
/// }
/// ```
public protocol JSONEncodable: JSONValueEncodable {
    /// Writes this value's fields with `object`'s `field` methods; the braces around
    /// them are written for you.
    func encodeJSON(to object: inout JSONObjectWriter) throws(JSONError)
}

extension JSONEncodable {
    /// Writes the object: `{`, the fields ``encodeJSON(to:)`` writes, `}`.
    public func writeJSON(to w: inout JSONWriter) throws(JSONError) {
        let level = w.depth
        try w.open(object: true)
        try withUnsafeMutablePointer(to: &w) { (p) throws(JSONError) in
            var object = JSONObjectWriter(writer: p, level: level)
            try encodeJSON(to: &object)
        }
        w.close(downTo: level)
    }
}

/// Writes the fields of one JSON object; see ``JSONEncodable``.
public struct JSONObjectWriter: ~Copyable {
    let writer: UnsafeMutablePointer<JSONWriter>
    let level: Int

    /// Writes a string field named `name`.
    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        writer.pointee.string(value)
    }

    /// Writes an integer field named `name`, of any integer type.
    public mutating func field<T: BinaryInteger>(_ name: StaticString, _ value: T) {
        key(name)
        writer.pointee.int(value)
    }

    /// Writes a `true` or `false` field named `name`.
    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        writer.pointee.bool(value)
    }

    /// Writes a number field named `name`; NaN and infinities, which JSON cannot hold,
    /// throw ``JSONError/unrepresentable(_:)``.
    public mutating func field(_ name: StaticString, _ value: Double) throws(JSONError) {
        key(name)
        try writer.pointee.double(value)
    }

    /// A field of any ``JSONValueEncodable`` type: nested `@JSON` values,
    /// arrays, `[String: T]`, optionals (`null`), enums with raw values.
    public mutating func field<T: JSONValueEncodable>(_ name: StaticString, value: T) throws(JSONError) {
        key(name)
        try value.writeJSON(to: &writer.pointee)
    }

    /// A field of any `Encodable` value, written through its `Codable` conformance
    /// (for types that are not ``JSONValueEncodable``); throws what its `encode(to:)` throws.
    public mutating func field<T: Encodable>(_ name: StaticString, encoding value: T) throws {
        key(name)
        try writer.pointee.encode(value)
    }

    private mutating func key(_ name: StaticString) {
        writer.pointee.element(in: level)
        writer.pointee.string(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        writer.pointee.byte(UInt8(ascii: ":"))
    }

    // Generated code (`@JSON`) passes the key as written: quoted, escaped and
    // followed by its colon (`"\"id\":"`), so nothing is escaped at run time.

    @inline(__always)
    private mutating func rawKey(_ quoted: StaticString) {
        writer.pointee.element(in: level)
        writer.pointee.raw(quoted)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field(quotedKey: StaticString, _ value: String) throws(JSONError) {
        rawKey(quotedKey)
        writer.pointee.string(value)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field(quotedKey: StaticString, _ value: Int) throws(JSONError) {
        rawKey(quotedKey)
        writer.pointee.int(value)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field(quotedKey: StaticString, _ value: Int64) throws(JSONError) {
        rawKey(quotedKey)
        writer.pointee.int(value)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field(quotedKey: StaticString, _ value: UInt64) throws(JSONError) {
        rawKey(quotedKey)
        writer.pointee.int(value)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field(quotedKey: StaticString, _ value: Bool) throws(JSONError) {
        rawKey(quotedKey)
        writer.pointee.bool(value)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field(quotedKey: StaticString, _ value: Double) throws(JSONError) {
        rawKey(quotedKey)
        try writer.pointee.double(value)
    }

    /// A field whose key is already quoted, escaped and followed by `:`.
    public mutating func field<T: JSONValueEncodable>(quotedKey: StaticString, _ value: T) throws(JSONError) {
        rawKey(quotedKey)
        try value.writeJSON(to: &writer.pointee)
    }
}

extension JSONWriter {
    /// Writes any Encodable value: types with their own JSON
    /// (``JSONValueEncodable``, `@JSON`) directly, the others through a
    /// streaming `Encoder` (which also writes nested values that have their
    /// own JSON directly).
    public mutating func encode<T: Encodable>(_ value: T) throws {
        if let fast = T.self as? any JSONValueEncodable.Type {
            try writeFast(value, as: fast)
            return
        }
        try withUnsafeMutablePointer(to: &self) { w throws in
            let level = w.pointee.depth
            var state = EncoderState(writer: w)
            try withUnsafeMutablePointer(to: &state) { s throws in
                try value.encode(to: StreamingEncoder(state: s, level: level, pathDepth: 0))
            }
            w.pointee.close(downTo: level)
        }
    }

    /// `value` is a `U`: opens the existential metatype, without boxing the value.
    mutating func writeFast<T, U: JSONValueEncodable>(_ value: T, as: U.Type) throws(JSONError) {
        let level = depth
        try withUnsafePointer(to: value) { (p) throws(JSONError) in
            try UnsafeRawPointer(p).assumingMemoryBound(to: U.self).pointee.writeJSON(to: &self)
        }
        close(downTo: level)
    }
}
