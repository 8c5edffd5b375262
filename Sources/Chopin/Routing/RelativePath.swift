/// The route's `*wildcard` as a path that is safe to join to a directory:
/// `router.get("/static/*path") { (ctx: Context, file: RelativePath) in ... }`.
///
/// The wildcard is split at its literal `/` only, then each segment is
/// percent-decoded exactly once. Empty and `.` segments are dropped and
/// `..` removes the segment before it, so `./a//b/` is `a/b` and
/// `a/./b/../c` is `a/c`. The request is refused with 400, naming the
/// wildcard, when:
/// - a `..` would climb above the route's root (`../etc/passwd`, `a/../../b`,
///   `%2e%2e/x`: an encoded dot is still a dot);
/// - a decoded segment holds a `/` or `\` (`%2F`, `%5C`): an encoded
///   separator never becomes one;
/// - a decoded segment holds a NUL byte (`%00`), which C file APIs would
///   take as the end of the name;
/// - an escape is malformed or decodes to invalid UTF-8.
///
/// 400, not 404: clients normalize dot segments before sending (RFC 3986
/// section 5.2.4), so a path that still climbs was crafted, like the other
/// refusals. A route without a wildcard answers 500: that is a programming
/// mistake, not the client's.
///
/// `ctx.param` of the same wildcard is decoded once but not resolved: use
/// it for display, and this for files.
public struct RelativePath: FromRequest, Hashable, Sendable, CustomStringConvertible {
    /// The resolved segments, each decoded, none empty, `.` or `..`, none
    /// holding `/`, `\` or NUL. Empty for the route's root itself.
    public let segments: [String]

    /// The segments joined by `/`: `css/site.css`; empty for the root.
    public var path: String { segments.joined(separator: "/") }

    public var description: String { path }

    public static func extract(from ctx: Context) throws -> RelativePath {
        let last = ctx.params.count - 1
        guard ctx.matched?.endsInWildcard == true, last >= 0 else {
            throw ExtractionError(.internalServerError, "RelativePath needs a route that ends in a *wildcard")
        }
        return try RelativePath(resolving: ctx.paramBytes(last), field: ctx.paramName(last))
    }

    /// Resolves raw (still percent-encoded) wildcard bytes; `field` names
    /// the wildcard in errors.
    init(resolving raw: UnsafeRawBufferPointer, field: String?) throws(ExtractionError) {
        var segments: [String] = []
        var start = 0
        while start <= raw.count {
            var end = start
            while end < raw.count && raw[end] != UInt8(ascii: "/") { end += 1 }
            switch try Self.segment(UnsafeRawBufferPointer(rebasing: raw[start..<end]), field: field) {
            case "", ".":
                break
            case "..":
                guard segments.popLast() != nil else {
                    throw ExtractionError(.badRequest, "the path climbs above its root", field: field)
                }
            case let segment:
                segments.append(segment)
            }
            start = end + 1
        }
        self.segments = segments
    }

    /// One segment, decoded once and checked before any dot resolution, so
    /// that a refused segment is refused even when a later `..` removes it.
    private static func segment(_ raw: UnsafeRawBufferPointer, field: String?) throws(ExtractionError) -> String {
        let segment = try PercentDecoding.string(raw, field: field)
        for byte in segment.utf8 where byte == 0 || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") {
            throw ExtractionError(.badRequest, "a path segment may not hold NUL, '/' or '\\'", field: field)
        }
        return segment
    }
}
