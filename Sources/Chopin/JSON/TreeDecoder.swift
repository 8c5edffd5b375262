/// A JSON value, as the query and path extractors build it for
/// ``TreeDecoder``. Numbers keep their text, so integers of any width decode
/// exactly and nothing is rounded on the way. (Request bodies are never
/// turned into one: they are read in place.)
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])
}

/// A `Decoder` over a parsed ``JSONValue``. In lenient mode (query strings,
/// path parameters) a string also decodes as a number or a Bool.
struct TreeDecoder: Decoder {
    let value: JSONValue
    let lenient: Bool
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, lenient: Bool = false, codingPath: [any CodingKey] = []) {
        self.value = value
        self.lenient = lenient
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: Int].self, value, codingPath) }
        return KeyedDecodingContainer(Keyed<Key>(members: members, lenient: lenient, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([Int].self, value, codingPath) }
        return Unkeyed(items: items, lenient: lenient, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(value: value, lenient: lenient, codingPath: codingPath)
    }
}

private func describe(_ v: JSONValue) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
}

private func mismatch(_ type: Any.Type, _ v: JSONValue, _ path: [any CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(describe(v))"))
}

/// Converts a scalar, exactly: "1.5" is not an Int, 300 is not a UInt8.
private func scalar<T: Decodable>(_ type: T.Type, _ v: JSONValue, lenient: Bool, path: [any CodingKey]) throws -> T {
    func text() -> String? {
        switch v {
        case .number(let s): return s
        case .string(let s) where lenient: return s
        default: return nil
        }
    }
    if type == String.self {
        guard case .string(let s) = v else { throw mismatch(type, v, path) }
        return s as! T
    }
    if type == Bool.self {
        if case .bool(let b) = v { return b as! T }
        if lenient, case .string(let s) = v {
            if s == "true" || s == "1" { return true as! T }
            if s == "false" || s == "0" { return false as! T }
        }
        throw mismatch(type, v, path)
    }
    if let intType = type as? any FixedWidthInteger.Type {
        guard let s = text() else { throw mismatch(type, v, path) }
        guard let n = intType.init(s, radix: 10) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(s) is not a valid \(type)"))
        }
        return n as! T
    }
    if type == Double.self || type == Float.self {
        guard let s = text(), let d = Double(s), d.isFinite else {
            if text() != nil {
                throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number out of range"))
            }
            throw mismatch(type, v, path)
        }
        return (type == Float.self ? Float(d) as Any : d as Any) as! T
    }
    return try T(from: TreeDecoder(v, lenient: lenient, codingPath: path))
}

private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [(key: String, value: JSONValue)]
    let lenient: Bool
    var codingPath: [any CodingKey]

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { members.contains { $0.key == key.stringValue } }

    private func find(_ key: Key) throws -> JSONValue {
        // The last occurrence wins, as in most parsers.
        guard let m = members.last(where: { $0.key == key.stringValue }) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return m.value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try find(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let v = try find(key)
        if case .null = v, !(type is any ExpressibleByNilLiteral.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key], debugDescription: "null"))
        }
        return try scalar(type, v, lenient: lenient, path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try TreeDecoder(try find(key), lenient: lenient, codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(try find(key), lenient: lenient, codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(members.first { $0.key == "super" }?.value ?? .null, lenient: lenient, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(try find(key), lenient: lenient, codingPath: codingPath + [key])
    }
}

private struct Unkeyed: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let lenient: Bool
    var codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [JSONValue], lenient: Bool, codingPath: [any CodingKey]) {
        self.items = items
        self.lenient = lenient
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                .init(
                    codingPath: codingPath + [IndexKey(intValue: currentIndex)],
                    debugDescription: "array ended"))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = items[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = codingPath + [IndexKey(intValue: currentIndex)]
        let v = try next(type)
        if case .null = v, !(type is any ExpressibleByNilLiteral.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "null"))
        }
        return try scalar(type, v, lenient: lenient, path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        try TreeDecoder(try next(type), lenient: lenient, codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(try next([Any].self), lenient: lenient, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        TreeDecoder(try next(Any.self), lenient: lenient, codingPath: codingPath)
    }
}

private struct Single: SingleValueDecodingContainer {
    let value: JSONValue
    let lenient: Bool
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try scalar(type, value, lenient: lenient, path: codingPath)
    }
}
