internal import CChopinCore

/// Something a handler can take as a parameter, built from the request.
///
/// ```swift
/// struct ApiKey: FromRequest {
///     let value: String
///     static func extract(from ctx: Context) throws -> ApiKey {
///         guard let v = ctx.header("X-Api-Key") else { throw ExtractionError(.unauthorized, "missing X-Api-Key") }
///         return ApiKey(value: v)
///     }
/// }
/// router.get("/me") { (ctx: Context, key: ApiKey) in .text(key.value) }
/// ```
public protocol FromRequest: SendableMetatype {
    /// Builds the value from the request, or throws (an ``ExtractionError`` answers with its status).
    static func extract(from ctx: Context) throws -> Self
}

private func fieldName(_ path: [any CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
}

/// Maps a decoding failure to the status the issue of shape deserves.
func extractionError(_ error: any Error, source: String, shapeStatus: HTTPStatus) -> ExtractionError {
    switch error {
    case let e as JSONDecodingError:
        let status: HTTPStatus = e.isBadRequest ? .badRequest : shapeStatus
        let field = e.path
        return ExtractionError(status, e.message, field: field.isEmpty ? nil : field)
    case let e as JSONError:
        return ExtractionError(.badRequest, "malformed \(source): \(e)")
    case DecodingError.keyNotFound(let key, let ctx):
        return ExtractionError(shapeStatus, "missing field", field: fieldName(ctx.codingPath + [key]))
    case DecodingError.valueNotFound(_, let ctx):
        return ExtractionError(shapeStatus, "field is null", field: fieldName(ctx.codingPath))
    case DecodingError.typeMismatch(_, let ctx):
        return ExtractionError(shapeStatus, ctx.debugDescription, field: fieldName(ctx.codingPath))
    case DecodingError.dataCorrupted(let ctx):
        return ExtractionError(.badRequest, ctx.debugDescription, field: fieldName(ctx.codingPath))
    default:
        return ExtractionError(shapeStatus, "\(error)")
    }
}

/// The request body decoded from JSON.
///
/// A body that is not `application/json` is 415, bytes that are not JSON
/// (or a member name twice in one object) are 400, JSON of the wrong shape
/// is 422 naming the field (`items[3].price`). The body is read in place:
/// `@JSON` types through their generated decoder, other `Decodable` types
/// through a direct `Decoder`; neither builds a tree.
public struct Json<T: Decodable>: FromRequest {
    /// The extracted value.
    public let value: T

    /// Extracts the value from the request (see the type's description).
    public static func extract(from ctx: Context) throws -> Json<T> {
        guard ctx.withHeaderBytes("Content-Type", isJSON) == true else {
            throw ExtractionError(.unsupportedMediaType, "expected Content-Type: application/json")
        }
        do {
            return Json(value: try JSON.decode(T.self, from: ctx.body))
        } catch {
            throw extractionError(error, source: "JSON", shapeStatus: .unprocessableContent)
        }
    }
}

extension Context {
    /// Calls `body` with a header's value bytes (no copy); nil when absent.
    fileprivate func withHeaderBytes<R>(_ name: StaticString, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        name.withUTF8Buffer { n in
            n.withMemoryRebound(to: CChar.self) { chopin_request_header(head, $0.baseAddress, $0.count) }
        }.map { body($0.pointee.value.bytes) }
    }
}

/// `application/json` or `application/<anything>+json`, any case, with
/// parameters after a `;`; read from the bytes, without allocating.
private func isJSON(_ value: UnsafeRawBufferPointer) -> Bool {
    var start = 0
    var end = 0
    while end < value.count && value[end] != UInt8(ascii: ";") { end += 1 }
    while start < end && (value[start] == 0x20 || value[start] == 0x09) { start += 1 }
    while end > start && (value[end - 1] == 0x20 || value[end - 1] == 0x09) { end -= 1 }
    let media = UnsafeRawBufferPointer(rebasing: value[start..<end])
    func lowercased(_ at: Int, is text: StaticString) -> Bool {
        guard at >= 0, at + text.utf8CodeUnitCount <= media.count else { return false }
        for i in 0..<text.utf8CodeUnitCount where media[at + i] | 0x20 != text.utf8Start[i] | 0x20 { return false }
        return true
    }
    if media.count == 16 && lowercased(0, is: "application/json") { return true }
    return media.count > 17 && lowercased(0, is: "application/") && lowercased(media.count - 5, is: "+json")
}


/// The query string decoded into a type: `?q=swift&limit=10` into
/// `struct Search: Decodable { let q: String; let limit: Int? }`.
/// Each key and value is percent-decoded once (`+` is a space), then
/// parsed. Missing or malformed fields are 400, naming the field; so is a
/// malformed escape, or one that decodes to invalid UTF-8.
public struct Query<T: Decodable>: FromRequest {
    /// The extracted value.
    public let value: T

    /// Extracts the value from the request (see the type's description).
    public static func extract(from ctx: Context) throws -> Query<T> {
        var members: [(key: String, value: JSONValue)] = []
        for pair in ctx.queryBytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let rawKey = UnsafeRawBufferPointer(rebasing: parts[0])
            let key = try PercentDecoding.string(
                rawKey, plusIsSpace: true, field: String(decoding: rawKey, as: UTF8.self))
            let value =
                parts.count > 1
                ? try PercentDecoding.string(UnsafeRawBufferPointer(rebasing: parts[1]), plusIsSpace: true, field: key)
                : ""
            members.append((key, .string(value)))
        }
        do {
            return Query(value: try T(from: TreeDecoder(.object(members), lenient: true)))
        } catch {
            throw extractionError(error, source: "query", shapeStatus: .badRequest)
        }
    }
}

/// A route parameter: `Path<UInt64>` takes the route's first parameter
/// (`/user/:id`); a `Decodable` struct takes them all by name.
///
/// Each parameter is percent-decoded exactly once, then converted: `/user/%31`
/// is 1. A malformed escape, one that decodes to invalid UTF-8, or a value
/// that does not convert is 400, naming the parameter. An integer with no
/// escape is read straight from the request's bytes, without allocating.
public struct Path<T: Decodable>: FromRequest {
    /// The extracted value.
    public let value: T

    /// Extracts the value from the request (see the type's description).
    public static func extract(from ctx: Context) throws -> Path<T> {
        guard ctx.params.count > 0 else { throw ExtractionError(.internalServerError, "the route has no parameters") }
        if let intType = T.self as? any FixedWidthInteger.Type {
            let parsed = try ctx.withDecodedParam(0) { parseInteger(intType, $0) }
            guard let value = parsed as? T else {
                throw ExtractionError(.badRequest, "expected \(T.self)", field: ctx.paramName(0))
            }
            return Path(value: value)
        }
        if T.self == String.self, let value = try ctx.decodedParam(0) as? T { return Path(value: value) }
        var members: [(key: String, value: JSONValue)] = []
        for (i, name) in (ctx.matched?.paramNames ?? []).enumerated() where i < ctx.params.count {
            members.append((name, .string(try ctx.decodedParam(i))))
        }
        do {
            return Path(value: try T(from: TreeDecoder(.object(members), lenient: true)))
        } catch {
            throw extractionError(error, source: "path", shapeStatus: .badRequest)
        }
    }
}

private func parseInteger<I: FixedWidthInteger>(_ type: I.Type, _ raw: UnsafeRawBufferPointer) -> I? {
    guard !raw.isEmpty else { return nil }
    var i = 0
    var negative = false
    if raw[0] == UInt8(ascii: "-") {
        guard I.isSigned, raw.count > 1 else { return nil }
        negative = true
        i = 1
    }
    var v: I = 0
    while i < raw.count {
        let c = raw[i]
        guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
        let d = I(c - UInt8(ascii: "0"))
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
        if o1 || o2 { return nil }
        v = s
        i += 1
    }
    return v
}

/// The raw request body, copied.
public struct RawBody: FromRequest {
    /// The body, copied.
    public let bytes: [UInt8]
    /// Extracts the value from the request (see the type's description).
    public static func extract(from ctx: Context) throws -> RawBody { RawBody(bytes: Array(ctx.body)) }
}

/// Names a header for ``Header``: `enum UserAgent: HeaderName { static let name = "User-Agent" }`.
public protocol HeaderName {
    /// The header's name, matched case-insensitively.
    static var name: String { get }
}

/// A required header's value; 400 naming the header when it is absent.
public struct Header<N: HeaderName>: FromRequest {
    /// The header's value.
    public let value: String

    /// Extracts the value from the request (see the type's description).
    public static func extract(from ctx: Context) throws -> Header<N> {
        guard let v = ctx.header(N.name) else { throw ExtractionError(.badRequest, "missing header", field: N.name) }
        return Header(value: v)
    }
}
