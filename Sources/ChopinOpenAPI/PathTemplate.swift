/// An OpenAPI path template (`/pets/{petId}`, `/files/{name}.zip`) as the
/// router takes it, and how to read its parameters out of a request path.
///
/// A segment that is one parameter (`{petId}`) becomes a router parameter
/// (`:petId`). A segment that mixes text and parameters (`{name}.zip`,
/// `v{major}.{minor}`) also becomes one router parameter, and the template
/// reads its parts from the segment: so `/files/{name}.zip` and
/// `/files/{name}.tar.gz` are one route of the router, and the transport
/// picks the template whose text matches.
struct PathTemplate: Sendable {
    /// One segment of the template.
    enum Segment: Sendable, Equatable {
        case literal(String)
        /// Text and parameters, in order: `{name}.zip` is [.parameter("name"), .text(".zip")].
        case pattern([Piece])
    }

    enum Piece: Sendable, Equatable {
        case text(String)
        case parameter(String)
    }

    let segments: [Segment]
    /// Whether every segment is text: the router's match of its pattern is
    /// then the template's, with no parameter to read.
    var isLiteral: Bool { segments.allSatisfy { if case .literal = $0 { true } else { false } } }

    /// Parses `template`; nil when a brace is not closed, a parameter has
    /// no name, or two parameters touch (`{a}{b}`: where one ends is unknowable).
    init?(_ template: String) {
        var segments: [Segment] = []
        for part in template.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard part.contains("{") || part.contains("}") else {
                segments.append(.literal(String(part)))
                continue
            }
            var pieces: [Piece] = []
            var rest = Substring(part)
            while !rest.isEmpty {
                if rest.first == "{" {
                    guard let close = rest.firstIndex(of: "}") else { return nil }
                    let name = rest[rest.index(after: rest.startIndex)..<close]
                    guard !name.isEmpty, !name.contains("{") else { return nil }
                    if case .parameter? = pieces.last { return nil }
                    pieces.append(.parameter(String(name)))
                    rest = rest[rest.index(after: close)...]
                } else {
                    let end = rest.firstIndex(of: "{") ?? rest.endIndex
                    let text = rest[..<end]
                    guard !text.contains("}") else { return nil }
                    pieces.append(.text(String(text)))
                    rest = rest[end...]
                }
            }
            segments.append(.pattern(pieces))
        }
        self.segments = segments
    }

    /// The router's pattern: each parameter segment named by `name(i, pieces)`.
    func routerPattern(naming name: (Int, [Piece]) -> String) -> String {
        var pattern = ""
        for (i, segment) in segments.enumerated() {
            pattern += "/"
            switch segment {
            case .literal(let text): pattern += text
            case .pattern(let pieces): pattern += ":" + name(i, pieces)
            }
        }
        return pattern
    }

    /// Texts in a pattern segment: a template with more of them is tried
    /// first (`{name}.tar.gz` before `{name}.gz` before `{name}`).
    var specificity: Int {
        segments.reduce(0) { sum, segment in
            guard case .pattern(let pieces) = segment else { return sum }
            return sum + pieces.reduce(0) { if case .text(let t) = $1 { $0 + t.utf8.count } else { $0 } }
        }
    }

    /// The parameters of `path` (still percent-encoded, as the runtime
    /// wants them), or nil when the path does not fit the template.
    func match(_ path: Substring) -> [String: Substring]? {
        // Segment by segment over the bytes: no array of parts, no
        // Character (grapheme) walking; "/" is one byte in UTF-8.
        let slash = UInt8(ascii: "/")
        var rest = path.utf8[...]
        var found: [String: Substring] = [:]
        for segment in segments {
            guard rest.first == slash else { return nil }
            rest = rest.dropFirst()
            let end = rest.firstIndex(of: slash) ?? rest.endIndex
            let part = Substring(rest[..<end])
            rest = rest[end...]
            switch segment {
            case .literal(let text):
                guard part == text else { return nil }
            case .pattern(let pieces):
                guard Self.read(pieces[...], from: part.utf8, into: &found) else { return nil }
            }
        }
        return rest.isEmpty ? found : nil
    }

    /// How many places a segment's parameters may try before the segment
    /// is taken not to fit: a path made to fit many ways (`/a/----...` for
    /// `{x}-{y}-{z}`) would otherwise cost the cube of its length.
    static let attemptBudget = 64

    /// Matches a segment's pieces over its bytes: a text must be there; a
    /// parameter takes everything up to the next text (the shortest match
    /// that lets the rest fit, within ``attemptBudget`` tries) or to the
    /// end, and is never empty.
    private static func read(
        _ pieces: ArraySlice<Piece>, from part: Substring.UTF8View, into found: inout [String: Substring]
    ) -> Bool {
        var budget = attemptBudget
        return read(pieces, from: part, into: &found, budget: &budget)
    }

    private static func read(
        _ pieces: ArraySlice<Piece>, from part: Substring.UTF8View, into found: inout [String: Substring],
        budget: inout Int
    ) -> Bool {
        guard let first = pieces.first else { return part.isEmpty }
        switch first {
        case .text(let text):
            guard part.starts(with: text.utf8) else { return false }
            return read(pieces.dropFirst(), from: part.dropFirst(text.utf8.count), into: &found, budget: &budget)
        case .parameter(let name):
            guard !part.isEmpty else { return false }
            let rest = pieces.dropFirst()
            guard case .text(let next)? = rest.first else {
                found[name] = Substring(part)
                return true
            }
            // A text's first byte is never a UTF-8 continuation byte: where
            // it is found, a character of the path starts.
            var search = part.index(after: part.startIndex)
            while budget > 0, let hit = firstOccurrence(of: next.utf8, in: part[search...]) {
                budget -= 1
                var attempt = found
                attempt[name] = Substring(part[..<hit])
                if read(rest, from: part[hit...], into: &attempt, budget: &budget) {
                    found = attempt
                    return true
                }
                search = part.index(after: hit)
            }
            return false
        }
    }

    private static func firstOccurrence(
        of needle: String.UTF8View, in haystack: Substring.UTF8View
    ) -> Substring.UTF8View.Index? {
        var i = haystack.startIndex
        while i < haystack.endIndex {
            if haystack[i...].starts(with: needle) { return i }
            i = haystack.index(after: i)
        }
        return nil
    }
}
