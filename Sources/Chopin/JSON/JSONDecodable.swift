/// A type that reads itself straight from JSON bytes, with no tree in
/// between: what `@JSON` generates, and what `Json<T>` and ``JSON/decode(_:from:)-(_,UnsafeRawBufferPointer)``
/// use first when a type has it.
public protocol JSONDecodable {
    /// Reads one value at the reader, leaving it just after the value.
    init(json reader: inout JSONReader) throws(JSONDecodingError)
}

extension JSONReader {
    /// Reads one value of any ``JSONDecodable`` type; an error names `key`.
    @inlinable
    public mutating func read<T: JSONDecodable>(_ type: T.Type, key: StaticString) throws(JSONDecodingError) -> T {
        do { return try T(json: &self) } catch { throw error.at(key) }
    }

    /// Reads into `value`, whose type says what to read (for fields with a
    /// default value); an error names `key`.
    @inlinable
    public mutating func read<T: JSONDecodable>(into value: inout T, key: StaticString) throws(JSONDecodingError) {
        do { value = try T(json: &self) } catch { throw error.at(key) }
    }

    /// Reads a whole document: one value, then only white space.
    ///
    /// Bytes that are not JSON are always ``JSONDecodingError/Kind/malformed``,
    /// even where a field of the wrong type comes before the broken part.
    @inlinable
    public static func decode<T: JSONDecodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer)
        throws(JSONDecodingError) -> T
    {
        var r = JSONReader(bytes)
        do {
            let v = try T(json: &r)
            try r.end()
            return v
        } catch {
            throw JSONReader.malformedFirst(error, bytes)
        }
    }

    /// On the error path only: a syntax error anywhere in the document wins
    /// over a complaint about the shape.
    public static func malformedFirst(_ error: JSONDecodingError, _ bytes: UnsafeRawBufferPointer)
        -> JSONDecodingError
    {
        if error.kind == .malformed { return error }
        var check = JSONReader(bytes)
        do {
            try check.skipValue()
            try check.end()
        } catch let syntax {
            return syntax
        }
        return error
    }
}

extension String: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readString() }
}

extension Bool: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readBool() }
}

extension Double: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readDouble() }
}

extension Float: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = Float(try r.readDouble()) }
}

extension Int: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(Int.self) }
}

extension Int8: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(Int8.self) }
}

extension Int16: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(Int16.self) }
}

extension Int32: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(Int32.self) }
}

extension Int64: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(Int64.self) }
}

extension UInt: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(UInt.self) }
}

extension UInt8: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(UInt8.self) }
}

extension UInt16: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(UInt16.self) }
}

extension UInt32: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(UInt32.self) }
}

extension UInt64: JSONDecodable {
    public init(json r: inout JSONReader) throws(JSONDecodingError) { self = try r.readInteger(UInt64.self) }
}

/// `null` is nil.
extension Optional: JSONDecodable where Wrapped: JSONDecodable {
    @inlinable
    public init(json r: inout JSONReader) throws(JSONDecodingError) {
        self = try r.readNull() ? nil : try Wrapped(json: &r)
    }
}

extension Array: JSONDecodable where Element: JSONDecodable {
    @inlinable
    public init(json r: inout JSONReader) throws(JSONDecodingError) {
        self = []
        var more = try r.beginArray()
        while more {
            do { append(try Element(json: &r)) } catch { throw error.at(index: count) }
            more = try r.nextElement()
        }
    }
}

/// An object with any member names. A name that comes twice is a
/// ``JSONDecodingError/Kind/duplicateKey`` error.
extension Dictionary: JSONDecodable where Key == String, Value: JSONDecodable {
    @inlinable
    public init(json r: inout JSONReader) throws(JSONDecodingError) {
        self = [:]
        var more = try r.beginObject()
        while more {
            let at = r.offset
            let key = try r.readKey().string
            let value: Value
            do { value = try Value(json: &r) } catch { throw error.at(key: key) }
            guard updateValue(value, forKey: key) == nil else {
                throw JSONDecodingError(.duplicateKey, "duplicate key", offset: at).at(key: key)
            }
            more = try r.nextMember()
        }
    }
}

/// Enums with a raw value read their raw value (`@JSON enum Status: String`).
extension RawRepresentable where Self: JSONDecodable, RawValue: JSONDecodable {
    /// Reads the raw value and makes the case it names; a raw value that names no case
    /// is a ``JSONDecodingError/Kind/mismatch`` error.
    @inlinable
    public init(json r: inout JSONReader) throws(JSONDecodingError) {
        let at = r.offset
        let raw = try RawValue(json: &r)
        guard let v = Self(rawValue: raw) else {
            throw JSONDecodingError(.mismatch, "\(raw) is not a valid \(Self.self)", offset: at)
        }
        self = v
    }
}
