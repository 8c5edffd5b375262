/// Encodes and decodes JSON without Foundation.
public enum JSON {
    /// Decodes a value, reading it in place (no tree): `@JSON` and other
    /// ``JSONDecodable`` types through their generated decoder, any other
    /// `Decodable` through a direct `Decoder`.
    ///
    /// Throws ``JSONDecodingError`` (with the failing field's path) for bytes
    /// that are not JSON and for JSON of the wrong shape; a type's own
    /// `init(from:)` may throw its own errors too.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        if let direct = T.self as? any JSONDecodable.Type {
            return try decodeDirect(direct, as: T.self, bytes)
        }
        do {
            var check = JSONReader(bytes)
            try check.skipValue()
            try check.end()
            check.pos = 0
            check.skipSpace()
            let state = DirectDecoderState(bytes)
            return try state.decodeValue(type, at: check.offset, readerDepth: 0, pathDepth: 0)
        } catch let e as DecodingError {
            throw JSONDecodingError(e)
        }
    }

    /// `U` is `T`, opened from the existential: the value is moved across
    /// without being boxed.
    static func decodeDirect<U: JSONDecodable, T>(_ type: U.Type, as: T.Type, _ bytes: UnsafeRawBufferPointer)
        throws(JSONDecodingError) -> T
    {
        let value = try JSONReader.decode(type, from: bytes)
        return withUnsafePointer(to: value) { UnsafeRawPointer($0).assumingMemoryBound(to: T.self).pointee }
    }

    /// Decodes a value from JSON bytes held in an array, as the `UnsafeRawBufferPointer`
    /// overload does (and throwing the same errors).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Encodes a value as JSON bytes.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try bytes { try $0.encode(value) }
    }

    /// The bytes `write` makes, written on the stack first: a document that
    /// fits (most do) costs one allocation, its array; a larger one moves to
    /// the heap as it grows.
    @inline(__always)
    static func bytes(_ write: (inout JSONWriter) throws -> Void) rethrows -> [UInt8] {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer in
            var w = JSONWriter(startingIn: buffer)
            try write(&w)
            return w.bytes
        }
    }
}

extension JSONDecodingError {
    /// A `Codable` type's complaint, with its coding path.
    init(_ e: DecodingError) {
        let kind: Kind
        let context: DecodingError.Context
        var path: [any CodingKey]
        switch e {
        case .keyNotFound(let key, let c):
            kind = .missingField
            context = c
            path = c.codingPath + [key]
        case .valueNotFound(_, let c):
            kind = .missingField
            context = c
            path = c.codingPath
        case .typeMismatch(_, let c):
            kind = .mismatch
            context = c
            path = c.codingPath
        case .dataCorrupted(let c):
            kind = .invalidValue
            context = c
            path = c.codingPath
        @unknown default:
            self.init(.mismatch, "\(e)", offset: 0)
            return
        }
        let message: String
        switch e {
        case .keyNotFound: message = "missing field"
        case .valueNotFound: message = "field is null"
        default: message = context.debugDescription
        }
        self.init(kind, message, offset: 0)
        while let last = path.popLast() {
            reversedPath.append(last.intValue.map { .index($0) } ?? .key(last.stringValue))
        }
    }
}
