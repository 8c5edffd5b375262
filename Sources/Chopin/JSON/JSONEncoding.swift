/// A type that writes its own JSON, with no intermediate values and no heap
/// allocation: the fast path of `ctx.json`.
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
public protocol JSONEncodable {
    func encodeJSON(to object: inout JSONObjectWriter)
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

    public mutating func field<T: Encodable>(_ name: StaticString, encoding value: T) throws {
        key(name)
        try writer.pointee.encode(value)
    }

    private mutating func key(_ name: StaticString) {
        writer.pointee.element(in: level)
        writer.pointee.string(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        writer.pointee.byte(UInt8(ascii: ":"))
    }
}

extension JSONWriter {
    /// Writes any Encodable value (the fast path for JSONEncodable types).
    public mutating func encode<T: Encodable>(_ value: T) throws {
        try withUnsafeMutablePointer(to: &self) { w throws in
            let level = w.pointee.depth
            if let fast = value as? any JSONEncodable {
                try w.pointee.open(object: true)
                var object = JSONObjectWriter(writer: w, level: level)
                fast.encodeJSON(to: &object)
                w.pointee.close(downTo: level)
                return
            }
            try value.encode(to: StreamingEncoder(writer: w, level: level))
            w.pointee.close(downTo: level)
        }
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

private struct IndexKey: CodingKey {
    var stringValue: String { String(intValue ?? 0) }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
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
        try writeValue(v, writer, level: level + 1, path: codingPath + [IndexKey(count - 1)])
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
