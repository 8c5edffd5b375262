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

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        writer.pointee.string(value)
    }

    public mutating func field<T: BinaryInteger>(_ name: StaticString, _ value: T) {
        key(name)
        writer.pointee.int(value)
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        writer.pointee.bool(value)
    }

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
    /// streaming `Encoder`.
    public mutating func encode<T: Encodable>(_ value: T) throws {
        if let fast = T.self as? any JSONValueEncodable.Type {
            try writeFast(value, as: fast)
            return
        }
        try withUnsafeMutablePointer(to: &self) { w throws in
            let level = w.pointee.depth
            try value.encode(to: StreamingEncoder(writer: w, level: level))
            w.pointee.close(downTo: level)
        }
    }

    /// `value` is a `U`: opens the existential metatype, without boxing the value.
    private mutating func writeFast<T, U: JSONValueEncodable>(_ value: T, as: U.Type) throws(JSONError) {
        let level = depth
        try withUnsafePointer(to: value) { (p) throws(JSONError) in
            try UnsafeRawPointer(p).assumingMemoryBound(to: U.self).pointee.writeJSON(to: &self)
        }
        close(downTo: level)
    }
}

/// An `Encoder` that streams JSON as the value describes itself: containers
/// are opened when asked for and closed when the next sibling (or the end)
/// comes, so nothing is built in between.
struct StreamingEncoder: Encoder {
    let writer: UnsafeMutablePointer<JSONWriter>
    /// The writer's depth where this value starts.
    let level: Int
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(writer: UnsafeMutablePointer<JSONWriter>, level: Int, codingPath: [any CodingKey] = []) {
        self.writer = writer
        self.level = level
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        writer.pointee.close(downTo: level)
        let ok = (try? writer.pointee.open(object: true)) != nil
        return KeyedEncodingContainer(KeyedContainer<Key>(writer: writer, level: level, codingPath: codingPath, ok: ok))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.pointee.close(downTo: level)
        let ok = (try? writer.pointee.open(object: false)) != nil
        return UnkeyedContainer(writer: writer, level: level, codingPath: codingPath, ok: ok)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        writer.pointee.close(downTo: level)
        return SingleValueContainer(writer: writer, level: level, codingPath: codingPath)
    }
}

private func tooDeep(_ path: [any CodingKey]) -> EncodingError {
    EncodingError.invalidValue(
        (), .init(codingPath: path, debugDescription: "nested deeper than \(JSONWriter.maxDepth)"))
}

/// Writes one scalar or nested value at the current position.
private func writeValue<T: Encodable>(
    _ value: T, _ w: UnsafeMutablePointer<JSONWriter>, level: Int,
    path: [any CodingKey]
) throws {
    switch value {
    case let v as String: w.pointee.string(v)
    case let v as Int: w.pointee.int(v)
    case let v as Bool: w.pointee.bool(v)
    case let v as Double:
        do { try w.pointee.double(v) } catch {
            throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: error.description))
        }
    default:
        try value.encode(to: StreamingEncoder(writer: w, level: level, codingPath: path))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: UnsafeMutablePointer<JSONWriter>
    let level: Int
    var codingPath: [any CodingKey]
    let ok: Bool

    private func key(_ k: Key) throws {
        guard ok else { throw tooDeep(codingPath) }
        writer.pointee.key(k.stringValue, in: level)
    }

    mutating func encodeNil(forKey key: Key) throws { try self.key(key); writer.pointee.null() }
    mutating func encode(_ v: Bool, forKey key: Key) throws { try self.key(key); writer.pointee.bool(v) }
    mutating func encode(_ v: String, forKey key: Key) throws { try self.key(key); writer.pointee.string(v) }
    mutating func encode(_ v: Double, forKey key: Key) throws {
        try self.key(key)
        do { try writer.pointee.double(v) } catch {
            throw EncodingError.invalidValue(
                v, .init(codingPath: codingPath + [key], debugDescription: error.description))
        }
    }
    mutating func encode(_ v: Float, forKey key: Key) throws { try encode(Double(v), forKey: key) }
    mutating func encode(_ v: Int, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { try self.key(key); writer.pointee.int(v) }
    mutating func encode<T: Encodable>(_ v: T, forKey key: Key) throws {
        try self.key(key)
        try writeValue(v, writer, level: level + 1, path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let ok = (try? self.key(key)) != nil && (try? writer.pointee.open(object: true)) != nil
        return KeyedEncodingContainer(
            KeyedContainer<NestedKey>(
                writer: writer, level: level + 1,
                codingPath: codingPath + [key], ok: ok))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let ok = (try? self.key(key)) != nil && (try? writer.pointee.open(object: false)) != nil
        return UnkeyedContainer(writer: writer, level: level + 1, codingPath: codingPath + [key], ok: ok)
    }

    mutating func superEncoder() -> any Encoder {
        writer.pointee.key("super", in: level)
        return StreamingEncoder(writer: writer, level: level + 1, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.pointee.key(key.stringValue, in: level)
        return StreamingEncoder(writer: writer, level: level + 1, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let writer: UnsafeMutablePointer<JSONWriter>
    let level: Int
    var codingPath: [any CodingKey]
    let ok: Bool
    var count = 0

    init(writer: UnsafeMutablePointer<JSONWriter>, level: Int, codingPath: [any CodingKey], ok: Bool) {
        self.writer = writer
        self.level = level
        self.codingPath = codingPath
        self.ok = ok
    }

    private mutating func next() throws {
        guard ok else { throw tooDeep(codingPath) }
        writer.pointee.element(in: level)
        count += 1
    }

    mutating func encodeNil() throws { try next(); writer.pointee.null() }
    mutating func encode(_ v: Bool) throws { try next(); writer.pointee.bool(v) }
    mutating func encode(_ v: String) throws { try next(); writer.pointee.string(v) }
    mutating func encode(_ v: Double) throws {
        try next()
        do { try writer.pointee.double(v) } catch {
            throw EncodingError.invalidValue(v, .init(codingPath: codingPath, debugDescription: error.description))
        }
    }
    mutating func encode(_ v: Int) throws { try next(); writer.pointee.int(v) }
    mutating func encode(_ v: Int64) throws { try next(); writer.pointee.int(v) }
    mutating func encode(_ v: UInt64) throws { try next(); writer.pointee.int(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        try next()
        try writeValue(v, writer, level: level + 1, path: codingPath + [IndexKey(intValue: count - 1)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        let ok = (try? next()) != nil && (try? writer.pointee.open(object: true)) != nil
        return KeyedEncodingContainer(
            KeyedContainer<NestedKey>(
                writer: writer, level: level + 1,
                codingPath: codingPath, ok: ok))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let ok = (try? next()) != nil && (try? writer.pointee.open(object: false)) != nil
        return UnkeyedContainer(writer: writer, level: level + 1, codingPath: codingPath, ok: ok)
    }

    mutating func superEncoder() -> any Encoder {
        writer.pointee.element(in: level)
        return StreamingEncoder(writer: writer, level: level + 1, codingPath: codingPath)
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let writer: UnsafeMutablePointer<JSONWriter>
    let level: Int
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { writer.pointee.null() }
    mutating func encode(_ v: Bool) throws { writer.pointee.bool(v) }
    mutating func encode(_ v: String) throws { writer.pointee.string(v) }
    mutating func encode(_ v: Double) throws {
        do { try writer.pointee.double(v) } catch {
            throw EncodingError.invalidValue(v, .init(codingPath: codingPath, debugDescription: error.description))
        }
    }
    mutating func encode(_ v: Float) throws { try encode(Double(v)) }
    mutating func encode(_ v: Int) throws { writer.pointee.int(v) }
    mutating func encode(_ v: Int8) throws { writer.pointee.int(v) }
    mutating func encode(_ v: Int16) throws { writer.pointee.int(v) }
    mutating func encode(_ v: Int32) throws { writer.pointee.int(v) }
    mutating func encode(_ v: Int64) throws { writer.pointee.int(v) }
    mutating func encode(_ v: UInt) throws { writer.pointee.int(v) }
    mutating func encode(_ v: UInt8) throws { writer.pointee.int(v) }
    mutating func encode(_ v: UInt16) throws { writer.pointee.int(v) }
    mutating func encode(_ v: UInt32) throws { writer.pointee.int(v) }
    mutating func encode(_ v: UInt64) throws { writer.pointee.int(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        try writeValue(v, writer, level: level, path: codingPath)
    }
}
