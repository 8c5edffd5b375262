/// Why JSON could not be read into a value, and where: ``path`` names the
/// failing field (`items[3].price`).
///
/// `Json<T>` answers ``Kind/malformed``, ``Kind/duplicateKey`` and
/// ``Kind/invalidValue`` with 400 and the others with 422, with `{"error": message, "field": path}`.
public struct JSONDecodingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The bytes are not JSON (or break a limit: depth, number length, UTF-8).
        case malformed
        /// The same member name twice in one object, for a field the type
        /// reads: refused rather than guessing which one counts.
        case duplicateKey
        /// A value the field's type refuses: a number it cannot hold exactly
        /// (300 for a `UInt8`, 1.5 for an `Int`, 1e400), or what a type's own
        /// `init(from:)` calls `dataCorrupted`.
        case invalidValue
        /// A value of the wrong type.
        case mismatch
        /// A required field is absent (or `null`).
        case missingField
        /// A member the type does not know, where unknown fields are refused.
        case unknownField
    }

    /// One step of a path: a member name or an array index.
    public enum PathComponent: Sendable, Equatable {
        /// A member of an object, by name.
        case key(String)
        /// An element of an array, by its zero-based position.
        case index(Int)
    }

    /// What went wrong; it decides the status `Json<T>` answers with (400 or 422).
    public let kind: Kind
    /// A readable account of the problem, for people: the `error` of the error body `Json<T>` answers with.
    public let message: String
    /// Byte offset in the input where it was noticed.
    public let offset: Int
    /// Innermost first, as the error travels outwards.
    var reversedPath: [PathComponent] = []

    /// An error of `kind`, described by `message`, noticed at byte `offset` of the input
    /// (for a hand-written ``JSONDecodable`` decoder); its path starts empty.
    public init(_ kind: Kind, _ message: String, offset: Int) {
        self.kind = kind
        self.message = message
        self.offset = offset
    }

    /// The path from the root, outermost first.
    public var pathComponents: [PathComponent] { reversedPath.reversed() }

    /// The path as written in an error body: `items[3].price`.
    public var path: String {
        var out = ""
        for c in reversedPath.reversed() {
            switch c {
            case .key(let k): out += out.isEmpty ? k : "." + k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    /// The same error, one member further out.
    public func at(_ key: StaticString) -> JSONDecodingError {
        var e = self
        e.reversedPath.append(.key(key.description))
        return e
    }

    /// The same error, one member further out (a name known only at run time).
    public func at(key: String) -> JSONDecodingError {
        var e = self
        e.reversedPath.append(.key(key))
        return e
    }

    /// The same error, one array element further out.
    public func at(index: Int) -> JSONDecodingError {
        var e = self
        e.reversedPath.append(.index(index))
        return e
    }

    /// Whether the request itself is bad (400), rather than of the wrong shape (422).
    public var isBadRequest: Bool { kind == .malformed || kind == .duplicateKey || kind == .invalidValue }

    public var description: String {
        let p = path
        return p.isEmpty ? "\(message) at byte \(offset)" : "\(p): \(message) at byte \(offset)"
    }

    /// A required field that never came.
    public static func missing(_ key: StaticString, offset: Int) -> JSONDecodingError {
        JSONDecodingError(.missingField, "missing field", offset: offset).at(key)
    }

    /// A field that came twice.
    public static func duplicate(_ key: StaticString, offset: Int) -> JSONDecodingError {
        JSONDecodingError(.duplicateKey, "duplicate key", offset: offset).at(key)
    }
}
