@_exported import Chopin

/// Generates a type's JSON encoder and decoder at compile time.
///
/// On a struct: an encoder that writes straight into the response's buffer
/// (keys escaped at compile time, no heap allocation), a decoder that reads
/// the bytes in place and matches member names as bytes (no tree, no
/// `String` per key), and `Codable` with the same keys, for other
/// encoders (Foundation's) and generic code. On an enum with a raw value:
/// the raw value, both ways.
///
/// ```swift
/// import ChopinJSON
///
/// @JSON(keys: .snakeCase)
/// struct Order {
///     let id: UInt64
///     let customerName: String          // "customer_name"
///     var note: String? = nil           // may be absent or null
///     var currency = "EUR"              // absent: the default
///     @JSONKey("lines") let items: [Item]
///     let status: Status
/// }
/// @JSON struct Item { let sku: String; let price: Double }
/// @JSON enum Status: String { case open, paid }
/// ```
///
/// - An optional field that is nil is left out when writing; absent or
///   `null` when reading is nil.
/// - A field with a default value may be absent; a `let` with a value is
///   written and never read (as with `Codable`).
/// - Unknown members are skipped, or refused with `unknownFields: .reject`
///   (a 422 under `Json<T>`).
/// - A member named twice is refused (400): there is no guessing which one
///   counts.
///
/// Declare the type without `Codable`: `@JSON` adds it with the same keys.
/// (If the type already says `Codable`, that conformance is the compiler's,
/// with the property names as keys.)
@attached(
    extension, conformances: JSONEncodable, JSONValueEncodable, JSONDecodable, Encodable, Decodable,
    names: named(encodeJSON(to:)), named(init(json:)), named(encode(to:)), named(init(from:)))
public macro JSON(keys: JSONKeyStyle = .asWritten, unknownFields: JSONUnknownFields = .ignore) =
    #externalMacro(module: "ChopinMacros", type: "JSONMacro")

/// The JSON member name of a field of a `@JSON` type:
/// `@JSONKey("user_name") let username: String`.
@attached(peer)
public macro JSONKey(_ name: String) = #externalMacro(module: "ChopinMacros", type: "JSONKeyMacro")

/// How `@JSON` turns property names into member names.
public enum JSONKeyStyle: Sendable {
    /// The property name as written: `userName`.
    case asWritten
    /// `userName` → `user_name`, `userID` → `user_id`.
    case snakeCase
}

/// What a `@JSON` decoder does with a member the type does not have.
public enum JSONUnknownFields: Sendable {
    /// Skip it (its value is still checked to be JSON).
    case ignore
    /// Refuse the document (a 422 under `Json<T>`, naming the member).
    case reject
}

/// The coding key of `@JSON`'s `Codable` conformance.
public struct JSONCodingKey: CodingKey, Sendable {
    public let stringValue: String
    public var intValue: Int? { nil }
    /// The key for the member named `name`.
    public init(_ name: String) { stringValue = name }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}
