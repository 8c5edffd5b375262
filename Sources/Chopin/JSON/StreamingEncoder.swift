/// What the encoders and containers of one ``JSONWriter/encode(_:)`` call
/// share. It lives on that call's stack and they hold a pointer to it, so
/// making an encoder or a container copies three words and allocates
/// nothing (an `any Encoder` or `any UnkeyedEncodingContainer` of at most
/// three words is stored inline, not boxed).
struct EncoderState {
    let writer: UnsafeMutablePointer<JSONWriter>
    /// The coding path, as a stack: an encoder at path depth d sees
    /// path[0..<d]. A key is pushed only when a value is handed to its own
    /// `encode(to:)`; the path is made into an array only when asked for.
    var path: [any CodingKey] = []

    init(writer: UnsafeMutablePointer<JSONWriter>) { self.writer = writer }

    func codingPath(_ depth: Int) -> [any CodingKey] { Array(path.prefix(depth)) }

    /// Makes `key` the last of the first `depth + 1` keys.
    mutating func push(_ key: any CodingKey, at depth: Int) {
        if path.count > depth { path.removeSubrange(depth...) }
        path.append(key)
    }
}

/// An `Encoder` that streams JSON as the value describes itself: containers
/// are opened when asked for and closed when the next sibling (or the end)
/// comes, so nothing is built in between.
struct StreamingEncoder: Encoder {
    let state: UnsafeMutablePointer<EncoderState>
    /// The writer's depth where this value starts.
    let level: Int
    let pathDepth: Int

    var codingPath: [any CodingKey] { state.pointee.codingPath(pathDepth) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var writer: UnsafeMutablePointer<JSONWriter> { state.pointee.writer }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        writer.pointee.close(downTo: level)
        let ok = (try? writer.pointee.open(object: true)) != nil
        return KeyedEncodingContainer(KeyedContainer<Key>(state: state, level: level, pathDepth: pathDepth, ok: ok))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.pointee.close(downTo: level)
        let ok = (try? writer.pointee.open(object: false)) != nil
        return UnkeyedContainer(state: state, level: level, pathDepth: pathDepth, ok: ok)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        writer.pointee.close(downTo: level)
        return SingleValueContainer(state: state, level: level, pathDepth: pathDepth)
    }
}

extension UnsafeMutablePointer where Pointee == EncoderState {
    /// Writes `value` as a member or element at writer depth `level`,
    /// where its coding path is the first `pathDepth` keys and then `key`.
    func write<T: Encodable, K: CodingKey>(_ value: T, level: Int, pathDepth: Int, key: K) throws {
        do throws(JSONError) {
            if try writeDirectly(value) { return }
        } catch {
            throw invalid(value, error, path: pointee.codingPath(pathDepth) + [key])
        }
        pointee.push(key, at: pathDepth)
        try value.encode(to: StreamingEncoder(state: self, level: level, pathDepth: pathDepth + 1))
    }

    /// Strings, numbers, `Bool` and types with their own JSON
    /// (``JSONValueEncodable``: arrays and dictionaries of those, `@JSON`
    /// types) are written without an `Encoder` or a container. False when
    /// `value` is none of those.
    func writeDirectly<T: Encodable>(_ value: T) throws(JSONError) -> Bool {
        let w = pointee.writer
        // Comparing metatypes costs a compare, the conformance check a
        // lookup: the scalars that come most often are tried first.
        if T.self == String.self {
            w.pointee.string(value.as(String.self))
        } else if T.self == Int.self {
            w.pointee.int(value.as(Int.self))
        } else if T.self == Bool.self {
            w.pointee.bool(value.as(Bool.self))
        } else if T.self == Double.self {
            try w.pointee.double(value.as(Double.self))
        } else if T.self == UInt64.self {
            w.pointee.int(value.as(UInt64.self))
        } else if T.self == Int64.self {
            w.pointee.int(value.as(Int64.self))
        } else if let fast = T.self as? any JSONValueEncodable.Type {
            try w.pointee.writeFast(value, as: fast)
        } else {
            return false
        }
        return true
    }

    func invalid(_ value: Any, _ error: JSONError, path: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: error.description))
    }

    /// A `Double` at the current position; a non-finite one is an error at
    /// `path`.
    func double(_ v: Double, path: @autoclosure () -> [any CodingKey]) throws {
        do throws(JSONError) {
            try pointee.writer.pointee.double(v)
        } catch {
            throw invalid(v, error, path: path())
        }
    }

    func tooDeep(_ pathDepth: Int) -> EncodingError {
        EncodingError.invalidValue(
            (),
            .init(codingPath: pointee.codingPath(pathDepth), debugDescription: "nested deeper than \(JSONWriter.maxDepth)")
        )
    }
}

extension Encodable {
    /// `self`, whose type the caller has checked is `U`, as a `U` (no
    /// dynamic cast).
    @inline(__always)
    fileprivate func `as`<U>(_: U.Type) -> U {
        withUnsafePointer(to: self) { UnsafeRawPointer($0).assumingMemoryBound(to: U.self).pointee }
    }
}
