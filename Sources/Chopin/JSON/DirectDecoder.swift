/// The `Codable` decoder: reads values in place from the bytes, with no tree.
///
/// The document is checked once up front (syntax, UTF-8, depth, number
/// length). An object's members are then indexed when a keyed container is
/// asked for (name and value offsets, no copies), and each value is read
/// from its offset when the type asks for it. A member name that comes twice
/// in one object is refused (``JSONDecodingError/Kind/duplicateKey``).
final class DirectDecoderState {
    var reader: JSONReader
    /// The coding path, as a stack: a decoder at depth d sees path[0..<d].
    var path: [any CodingKey] = []

    init(_ bytes: UnsafeRawBufferPointer) { reader = JSONReader(bytes) }

    func codingPath(_ depth: Int) -> [any CodingKey] { Array(path.prefix(depth)) }

    /// Cuts the path back to `depth` keys.
    @inline(__always)
    func truncate(_ depth: Int) {
        if path.count > depth { path.removeSubrange(depth...) }
    }

    /// Moves the reader to `offset`, at nesting `depth`.
    @inline(__always)
    func seek(_ offset: Int, depth: Int) {
        reader.pos = offset
        reader.depth = depth
    }

    /// Decodes a nested value at `offset` with `key` on the path.
    func nested<T: Decodable>(_ type: T.Type, at offset: Int, readerDepth: Int, pathDepth: Int, key: any CodingKey)
        throws -> T
    {
        truncate(pathDepth)
        path.append(key)
        defer { truncate(pathDepth) }
        return try decodeValue(type, at: offset, readerDepth: readerDepth, pathDepth: pathDepth + 1)
    }

    /// Decodes a value at `offset`: scalars straight from the reader, other
    /// types through `init(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, readerDepth: Int, pathDepth: Int) throws -> T {
        seek(offset, depth: readerDepth)
        do {
            switch type {
            case is String.Type: return try reader.readString() as! T
            case is Int.Type: return try reader.readInteger(Int.self) as! T
            case is Int64.Type: return try reader.readInteger(Int64.self) as! T
            case is UInt64.Type: return try reader.readInteger(UInt64.self) as! T
            case is Double.Type: return try reader.readDouble() as! T
            case is Bool.Type: return try reader.readBool() as! T
            default: break
            }
            if let direct = type as? any JSONDecodable.Type {
                return try readDirect(direct) as! T
            }
        } catch {
            throw decodingError(error, type, pathDepth)
        }
        return try T(from: DirectDecoder(state: self, offset: offset, readerDepth: readerDepth, pathDepth: pathDepth))
    }

    private func readDirect<U: JSONDecodable>(_ type: U.Type) throws(JSONDecodingError) -> U {
        try U(json: &reader)
    }

    /// A reader error as the `DecodingError` a `Codable` type expects.
    func decodingError(_ e: JSONDecodingError, _ type: Any.Type, _ pathDepth: Int) -> any Error {
        var path = codingPath(pathDepth)
        if e.kind == .malformed || e.kind == .duplicateKey {
            var full = e
            for key in path.reversed() { full = key.intValue.map { full.at(index: $0) } ?? full.at(key: key.stringValue) }
            return full
        }
        for c in e.pathComponents {
            switch c {
            case .key(let k): path.append(AnyKey(stringValue: k))
            case .index(let i): path.append(IndexKey(intValue: i))
            }
        }
        let context = DecodingError.Context(codingPath: path, debugDescription: e.message)
        if e.message.hasSuffix("found null") { return DecodingError.valueNotFound(type, context) }
        if e.kind == .missingField, let last = path.last {
            return DecodingError.keyNotFound(last, .init(codingPath: path.dropLast(), debugDescription: e.message))
        }
        if e.kind == .invalidValue { return DecodingError.dataCorrupted(context) }
        return DecodingError.typeMismatch(type, context)
    }
}

/// A member name as a coding key, made at run time (paths of errors).
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// An array index as a coding key; its text is made only if asked for.
struct IndexKey: CodingKey {
    let index: Int
    var stringValue: String { String(index) }
    var intValue: Int? { index }
    init(intValue: Int) { index = intValue }
    init?(stringValue: String) { return nil }
}

struct DirectDecoder: Decoder {
    let state: DirectDecoderState
    let offset: Int
    let readerDepth: Int
    let pathDepth: Int

    var codingPath: [any CodingKey] { state.codingPath(pathDepth) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        state.seek(offset, depth: readerDepth)
        do {
            let members = try DirectObject(&state.reader, offset: offset)
            return KeyedDecodingContainer(
                DirectKeyed<Key>(
                    state: state, object: members, readerDepth: readerDepth + 1, pathDepth: pathDepth))
        } catch {
            throw state.decodingError(error, [String: Int].self, pathDepth)
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        state.seek(offset, depth: readerDepth)
        do {
            return try DirectUnkeyed(state: state, readerDepth: readerDepth, pathDepth: pathDepth)
        } catch {
            throw state.decodingError(error, [Int].self, pathDepth)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        DirectSingle(decoder: self)
    }
}

private struct DirectSingle: SingleValueDecodingContainer {
    let decoder: DirectDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        let s = decoder.state
        s.seek(decoder.offset, depth: decoder.readerDepth)
        return s.reader.peek() == UInt8(ascii: "n")
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let s = decoder.state
        if T.self is any JSONDecodable.Type || T.self == String.self || T.self == Bool.self {
            return try s.decodeValue(type, at: decoder.offset, readerDepth: decoder.readerDepth, pathDepth: decoder.pathDepth)
        }
        // Anything else decodes itself; asking its own decoder again would loop.
        return try T(from: decoder)
    }
}
