/// The keyed and unkeyed containers of ``DirectDecoder``.

/// One object's members: where each name and value starts. Lookups start
/// after the last match, so members read in the order they were written
/// (the usual case) are found at once.
final class DirectObject {
    struct Member {
        let keyStart: Int
        let keyCount: Int
        let value: Int
        /// Length, first and last byte: duplicates are compared only when these agree.
        let signature: UInt64
    }

    private(set) var members: [Member] = []
    /// Names that had escapes, resolved (rare), by member index.
    private var escaped: [Int: [UInt8]] = [:]
    private var hint = 0
    private let base: UnsafePointer<UInt8>

    init(_ r: inout JSONReader, offset: Int) throws(JSONDecodingError) {
        base = r.base
        var more = try r.beginObject()
        while more {
            let key = try r.readKey()
            r.skipSpace()
            let bytes = key.unescaped
            let first = key.count > 0 ? (bytes?[0] ?? key.base[0]) : 0
            let last = key.count > 0 ? (bytes?[key.count - 1] ?? key.base[key.count - 1]) : 0
            let signature = UInt64(key.count) | UInt64(first) << 40 | UInt64(last) << 48
            // Duplicates are looked for when a member is read (duplicated),
            // not here: a member nobody reads is skipped unseen, as the
            // decoders @JSON generates skip it.
            if let bytes { escaped[members.count] = bytes }
            members.append(Member(keyStart: key.base - base, keyCount: key.count, value: r.offset, signature: signature))
            try r.skipValue()
            more = try r.nextMember()
        }
    }

    /// Another member with member i's name, if any: a member named twice
    /// is refused when it is read (400), whichever occurrence was meant.
    func duplicate(of i: Int) -> Int? {
        let m = members[i]
        for j in members.indices where j != i && members[j].signature == m.signature {
            if withName(i, { a in withName(j) { b in a.elementsEqual(b) } }) { return j }
        }
        return nil
    }

    private func withName<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let e = escaped[i] { return e.withUnsafeBufferPointer(body) }
        let m = members[i]
        return body(UnsafeBufferPointer(start: base + m.keyStart, count: m.keyCount))
    }

    func name(_ i: Int) -> String { withName(i) { String(decoding: $0, as: UTF8.self) } }

    /// The index of the member named `key`, if any.
    func find(_ key: String) -> Int? {
        return key.withUTF8Bytes { k -> Int? in
            let n = members.count
            var j = 0
            while j < n {
                let i = (hint + j) % n
                let m = members[i]
                if m.keyCount == k.count && withName(i, { $0.elementsEqual(k) }) {
                    hint = i + 1
                    return i
                }
                j += 1
            }
            return nil
        }
    }
}

struct DirectKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: DirectDecoderState
    let object: DirectObject
    /// The reader's depth inside this object.
    let readerDepth: Int
    let pathDepth: Int

    var codingPath: [any CodingKey] { state.codingPath(pathDepth) }

    var allKeys: [Key] { (0..<object.members.count).compactMap { Key(stringValue: object.name($0)) } }

    func contains(_ key: Key) -> Bool { object.find(key.stringValue) != nil }

    private func value(_ key: Key) throws -> Int {
        guard let i = object.find(key.stringValue) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing field"))
        }
        if let j = object.duplicate(of: i) {
            throw JSONDecodingError(.duplicateKey, "duplicate key", offset: object.members[j].keyStart)
                .at(key: key.stringValue)
        }
        return object.members[i].value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        state.seek(try value(key), depth: readerDepth)
        return state.reader.peek() == UInt8(ascii: "n")
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try state.nested(type, at: try value(key), readerDepth: readerDepth, pathDepth: pathDepth, key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let at = try value(key)
        state.truncate(pathDepth)
        state.path.append(key)
        return try DirectDecoder(state: state, offset: at, readerDepth: readerDepth, pathDepth: pathDepth + 1)
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let at = try value(key)
        state.truncate(pathDepth)
        state.path.append(key)
        return try DirectDecoder(state: state, offset: at, readerDepth: readerDepth, pathDepth: pathDepth + 1)
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard let key = Key(stringValue: "super") else {
            throw DecodingError.keyNotFound(
                AnyKey(stringValue: "super"), .init(codingPath: codingPath, debugDescription: "missing field"))
        }
        return try superDecoder(forKey: key)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let at = try value(key)
        state.truncate(pathDepth)
        state.path.append(key)
        return DirectDecoder(state: state, offset: at, readerDepth: readerDepth, pathDepth: pathDepth + 1)
    }
}

struct DirectUnkeyed: UnkeyedDecodingContainer {
    let state: DirectDecoderState
    let readerDepth: Int
    let pathDepth: Int
    /// Where the next element starts.
    private var next = 0
    private(set) var isAtEnd = false
    private(set) var currentIndex = 0

    var codingPath: [any CodingKey] { state.codingPath(pathDepth) }
    var count: Int? { nil }

    /// The reader must be at the array.
    init(state: DirectDecoderState, readerDepth: Int, pathDepth: Int) throws(JSONDecodingError) {
        self.state = state
        self.readerDepth = readerDepth
        self.pathDepth = pathDepth
        isAtEnd = !(try state.reader.beginArray())
        state.reader.skipSpace()
        next = state.reader.offset
    }

    private mutating func advance(from end: Int) throws {
        state.seek(end, depth: readerDepth + 1)
        do {
            isAtEnd = !(try state.reader.nextElement())
        } catch {
            throw state.decodingError(error, [Int].self, pathDepth)
        }
        state.reader.skipSpace()
        next = state.reader.offset
        currentIndex += 1
    }

    private func ended(_ type: Any.Type) -> DecodingError {
        .valueNotFound(type, .init(codingPath: codingPath + [IndexKey(intValue: currentIndex)], debugDescription: "array ended"))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw ended(Never?.self) }
        state.seek(next, depth: readerDepth + 1)
        guard state.reader.peek() == UInt8(ascii: "n") else { return false }
        try advance(from: next + 4)
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !isAtEnd else { throw ended(type) }
        let v = try state.nested(
            type, at: next, readerDepth: readerDepth + 1, pathDepth: pathDepth, key: IndexKey(intValue: currentIndex))
        // Values read by the reader itself leave it just after them;
        // anything decoded through init(from:) moved it around.
        try advance(from: T.self is any JSONDecodable.Type ? state.reader.offset : try skipNext())
        return v
    }

    /// Where the next element ends.
    private func skipNext() throws -> Int {
        state.seek(next, depth: readerDepth + 1)
        do { try state.reader.skipValue() } catch { throw state.decodingError(error, Any.self, pathDepth) }
        return state.reader.offset
    }

    /// Takes the next element for a nested container or decoder.
    private mutating func take() throws -> Int {
        let at = next
        state.truncate(pathDepth)
        state.path.append(IndexKey(intValue: currentIndex))
        try advance(from: try skipNext())
        return at
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        guard !isAtEnd else { throw ended(type) }
        let at = try take()
        return try DirectDecoder(state: state, offset: at, readerDepth: readerDepth + 1, pathDepth: pathDepth + 1)
            .container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard !isAtEnd else { throw ended([Int].self) }
        let at = try take()
        return try DirectDecoder(state: state, offset: at, readerDepth: readerDepth + 1, pathDepth: pathDepth + 1)
            .unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        guard !isAtEnd else { throw ended(Any.self) }
        let at = try take()
        return DirectDecoder(state: state, offset: at, readerDepth: readerDepth + 1, pathDepth: pathDepth + 1)
    }
}
