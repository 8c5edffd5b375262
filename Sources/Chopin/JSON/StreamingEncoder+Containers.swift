// The containers of ``StreamingEncoder``. Each writes into the shared
// writer at its own depth (`level`: where its value starts); `ok` is false
// when opening it would nest too deeply, and then every use throws.

struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: UnsafeMutablePointer<EncoderState>
    let level: Int
    let pathDepth: Int
    let ok: Bool

    var codingPath: [any CodingKey] { state.pointee.codingPath(pathDepth) }
    private var writer: UnsafeMutablePointer<JSONWriter> { state.pointee.writer }

    private func key(_ k: Key) throws {
        guard ok else { throw state.tooDeep(pathDepth) }
        writer.pointee.key(k.stringValue, in: level)
    }

    mutating func encodeNil(forKey key: Key) throws { try self.key(key); writer.pointee.null() }
    mutating func encode(_ v: Bool, forKey key: Key) throws { try self.key(key); writer.pointee.bool(v) }
    mutating func encode(_ v: String, forKey key: Key) throws { try self.key(key); writer.pointee.string(v) }
    mutating func encode(_ v: Double, forKey key: Key) throws {
        try self.key(key)
        try state.double(v, path: codingPath + [key])
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
        try state.write(v, level: level + 1, pathDepth: pathDepth, key: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let ok = (try? self.key(key)) != nil && (try? writer.pointee.open(object: true)) != nil
        state.pointee.push(key, at: pathDepth)
        return KeyedEncodingContainer(
            KeyedContainer<NestedKey>(state: state, level: level + 1, pathDepth: pathDepth + 1, ok: ok))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let ok = (try? self.key(key)) != nil && (try? writer.pointee.open(object: false)) != nil
        state.pointee.push(key, at: pathDepth)
        return UnkeyedContainer(state: state, level: level + 1, pathDepth: pathDepth + 1, ok: ok)
    }

    mutating func superEncoder() -> any Encoder {
        writer.pointee.key("super", in: level)
        state.pointee.push(AnyKey(stringValue: "super"), at: pathDepth)
        return StreamingEncoder(state: state, level: level + 1, pathDepth: pathDepth + 1)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.pointee.key(key.stringValue, in: level)
        state.pointee.push(key, at: pathDepth)
        return StreamingEncoder(state: state, level: level + 1, pathDepth: pathDepth + 1)
    }
}

/// Three words (state, level and path depth packed, count), so that an
/// `any UnkeyedEncodingContainer` holds it inline instead of in a box.
struct UnkeyedContainer: UnkeyedEncodingContainer {
    let state: UnsafeMutablePointer<EncoderState>
    private let level32: Int32
    private let pathDepth32: Int32
    /// Elements written so far; -1 when the container could not be opened.
    private var written: Int

    init(state: UnsafeMutablePointer<EncoderState>, level: Int, pathDepth: Int, ok: Bool) {
        self.state = state
        // Both are at most a few more than JSONWriter.maxDepth.
        level32 = Int32(truncatingIfNeeded: level)
        pathDepth32 = Int32(truncatingIfNeeded: pathDepth)
        written = ok ? 0 : -1
    }

    private var level: Int { Int(level32) }
    private var pathDepth: Int { Int(pathDepth32) }
    private var writer: UnsafeMutablePointer<JSONWriter> { state.pointee.writer }
    var count: Int { max(written, 0) }
    var codingPath: [any CodingKey] { state.pointee.codingPath(pathDepth) }

    private mutating func next() throws {
        guard written >= 0 else { throw state.tooDeep(pathDepth) }
        writer.pointee.element(in: level)
        written += 1
    }

    mutating func encodeNil() throws { try next(); writer.pointee.null() }
    mutating func encode(_ v: Bool) throws { try next(); writer.pointee.bool(v) }
    mutating func encode(_ v: String) throws { try next(); writer.pointee.string(v) }
    mutating func encode(_ v: Double) throws {
        try next()
        try state.double(v, path: codingPath)
    }
    mutating func encode(_ v: Int) throws { try next(); writer.pointee.int(v) }
    mutating func encode(_ v: Int64) throws { try next(); writer.pointee.int(v) }
    mutating func encode(_ v: UInt64) throws { try next(); writer.pointee.int(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        try next()
        try state.write(v, level: level + 1, pathDepth: pathDepth, key: IndexKey(intValue: written - 1))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let ok = (try? next()) != nil && (try? writer.pointee.open(object: true)) != nil
        state.pointee.push(IndexKey(intValue: count - 1), at: pathDepth)
        return KeyedEncodingContainer(
            KeyedContainer<NestedKey>(state: state, level: level + 1, pathDepth: pathDepth + 1, ok: ok))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let ok = (try? next()) != nil && (try? writer.pointee.open(object: false)) != nil
        state.pointee.push(IndexKey(intValue: count - 1), at: pathDepth)
        return UnkeyedContainer(state: state, level: level + 1, pathDepth: pathDepth + 1, ok: ok)
    }

    mutating func superEncoder() -> any Encoder {
        writer.pointee.element(in: level)
        if written >= 0 { written += 1 }
        state.pointee.push(IndexKey(intValue: count - 1), at: pathDepth)
        return StreamingEncoder(state: state, level: level + 1, pathDepth: pathDepth + 1)
    }
}

struct SingleValueContainer: SingleValueEncodingContainer {
    let state: UnsafeMutablePointer<EncoderState>
    let level: Int
    let pathDepth: Int

    var codingPath: [any CodingKey] { state.pointee.codingPath(pathDepth) }
    private var writer: UnsafeMutablePointer<JSONWriter> { state.pointee.writer }

    mutating func encodeNil() throws { writer.pointee.null() }
    mutating func encode(_ v: Bool) throws { writer.pointee.bool(v) }
    mutating func encode(_ v: String) throws { writer.pointee.string(v) }
    mutating func encode(_ v: Double) throws { try state.double(v, path: codingPath) }
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
        do throws(JSONError) {
            if try state.writeDirectly(v) { return }
        } catch {
            throw state.invalid(v, error, path: codingPath)
        }
        // The value's path is this container's: no key is added.
        try v.encode(to: StreamingEncoder(state: state, level: level, pathDepth: pathDepth))
    }
}
