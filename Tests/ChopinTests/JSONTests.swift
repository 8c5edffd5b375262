import ChopinExampleRoutes
import ChopinTesting
import Testing

@testable import Chopin

struct Nested: Codable, Equatable {
    struct Inner: Codable, Equatable {
        let tags: [String]
        let score: Double?
    }
    let name: String
    let count: Int64
    let ratio: Double
    let flag: Bool
    let inner: Inner
    let list: [Inner]
    let optional: String?
    let big: UInt64
    let small: Int8
}

/// An object with one member whose name is given at run time.
private struct OneMember: Encodable {
    let name: String
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(1, forKey: AnyKey(stringValue: name))
    }
}

@Suite struct JSONTests {
    private func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try JSON.encode(v), as: UTF8.self) }

    @Test func escapesStrings() throws {
        #expect(try text("a\"b\\c") == #""a\"b\\c""#)
        #expect(try text("line\nbreak\ttab\r") == #""line\nbreak\ttab\r""#)
        #expect(try text("\u{01}\u{1f}") == #""\u0001\u001f""#)
        #expect(try text("héllo ✓ 🎹") == "\"héllo ✓ 🎹\"")
    }

    /// The escape check reads eight bytes at a time, then the last eight
    /// overlapping: a character that needs an escape is found wherever it is.
    @Test func escapesAreFoundAtEveryPositionOfEveryLength() throws {
        func naive(_ c: Character) -> String {
            switch c {
            case "\"": return #"\""#
            case "\\": return #"\\"#
            case "\n": return #"\n"#
            case "\u{1f}": return #"\u001f"#
            default: return String(c)
            }
        }
        for length in 1...24 {
            for position in 0..<length {
                for special: Character in ["\"", "\\", "\n", "\u{1f}", "\u{7f}", "é"] {
                    let s = String(repeating: "a", count: position) + String(special)
                        + String(repeating: "b", count: length - position - 1)
                    #expect(try text(s) == "\"" + s.map(naive).joined() + "\"", "\(length) \(position)")
                    // A member name, through the Codable encoder's keyed container.
                    #expect(try text(OneMember(name: s)) == "{\"" + s.map(naive).joined() + "\":1}")
                }
            }
        }
    }

    @Test func numbersRoundTrip() throws {
        for d in [0.1, 1.0 / 3.0, 1e-7, 123456789.125, -2.5e300, Double.leastNonzeroMagnitude, 1.0, 0.0] {
            let bytes = try JSON.encode([d])
            #expect(try JSON.decode([Double].self, from: bytes) == [d])
        }
        #expect(try text([Int64.min, Int64.max]) == "[-9223372036854775808,9223372036854775807]")
        #expect(try text(UInt64.max) == "18446744073709551615")
        #expect(throws: (any Error).self) { try JSON.encode([Double.nan]) }
        #expect(throws: (any Error).self) { try JSON.encode([Double.infinity]) }
    }

    @Test func nestedTypesRoundTrip() throws {
        let v = Nested(
            name: "x", count: -3, ratio: 0.25, flag: true,
            inner: .init(tags: ["a", "b"], score: nil),
            list: [.init(tags: [], score: 1.5), .init(tags: ["z"], score: nil)],
            optional: nil, big: UInt64.max, small: -128)
        let bytes = try JSON.encode(v)
        #expect(try JSON.decode(Nested.self, from: bytes) == v)
        #expect(
            String(decoding: bytes, as: UTF8.self).hasPrefix(
                #"{"name":"x","count":-3,"ratio":0.25,"flag":true,"inner":{"tags":["a","b"]}"#))
    }

    @Test func decodesEscapesAndSurrogates() throws {
        #expect(try JSON.decode(String.self, from: Array(#""a\u00e9\ud83c\udfb9\n\/""#.utf8)) == "aé🎹\n/")
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "tru", "01", "1.", "-", "\"abc", "\"\\x\"", "\"\\ud800\"",
        "{\"a\" 1}", "[1 2]", "nul", "1e", "\"a\u{01}\"", "[] []",
    ])
    func malformedInputThrows(input: String) throws {
        // Both decoders: the direct one ([Int]) and the Codable one (Nested).
        let e = try #require(throws: JSONDecodingError.self) { try JSON.decode([Int].self, from: Array(input.utf8)) }
        #expect(e.kind == .malformed)
        let c = try #require(throws: JSONDecodingError.self) { try JSON.decode(Nested.self, from: Array(input.utf8)) }
        #expect(c.kind == .malformed)
    }

    @Test func invalidUTF8Throws() throws {
        let e = try #require(throws: JSONDecodingError.self) {
            try JSON.decode(String.self, from: [0x22, 0xff, 0xfe, 0x22])
        }
        #expect(e.kind == .malformed)
        // Overlong, surrogate and past-U+10FFFF forms are not UTF-8 either.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(throws: JSONDecodingError.self) { try JSON.decode(String.self, from: [0x22] + bad + [0x22]) }
        }
    }

    @Test func hostileInputNeverTraps() throws {
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        #expect(try #require(throws: JSONDecodingError.self) { try JSON.decode([Int].self, from: deep) }.kind == .malformed)
        #expect(try #require(throws: JSONDecodingError.self) { try JSON.decode(Nested.self, from: deep) }.kind == .malformed)
        let huge = Array(("[" + String(repeating: "9", count: 10_000) + "]").utf8)
        #expect(try #require(throws: JSONDecodingError.self) { try JSON.decode([Int].self, from: huge) }.kind == .malformed)
        for (input, path) in [("[300]", "[0]"), ("[1.5]", "[0]"), ("[1e400]", "[0]")] {
            let e = try #require(throws: JSONDecodingError.self) {
                if input == "[1e400]" { _ = try JSON.decode([Double].self, from: Array(input.utf8)) }
                else if input == "[300]" { _ = try JSON.decode([Int8].self, from: Array(input.utf8)) }
                else { _ = try JSON.decode([Int].self, from: Array(input.utf8)) }
            }
            #expect(e.kind == .invalidValue && e.path == path)
        }
    }

    @Test func wrongShapesNameTheField() throws {
        let e = try #require(throws: JSONDecodingError.self) { try JSON.decode(User.self, from: Array(#"{"id":1}"#.utf8)) }
        #expect(e.kind == .missingField && e.path == "username")
    }

    @Test func theCodableDecoderNamesThePathToo() throws {
        let body = #"{"name":"x","count":1,"ratio":0.5,"flag":true,"inner":{"tags":[]},"list":[{"tags":[]},{"tags":[1]}],"big":1,"small":1}"#
        let e = try #require(throws: JSONDecodingError.self) { try JSON.decode(Nested.self, from: Array(body.utf8)) }
        #expect(e.kind == .mismatch && e.path == "list[1].tags[0]")
        let missing = try #require(throws: JSONDecodingError.self) {
            try JSON.decode(Nested.self, from: Array(#"{"name":"x"}"#.utf8))
        }
        #expect(missing.kind == .missingField && missing.path == "count")
    }

    @Test func theCodableDecoderRefusesDuplicateMembers() throws {
        let body = #"{"tags":[],"score":1,"tags":["x"]}"#
        let e = try #require(throws: JSONDecodingError.self) { try JSON.decode(Nested.Inner.self, from: Array(body.utf8)) }
        #expect(e.kind == .duplicateKey && e.path == "tags")
    }

    /// As the decoders @JSON generates: a member nobody reads is skipped
    /// unexamined, even twice (found by fuzz_json_generated, where the two
    /// paths disagreed on `{"":1,"":2}` beside the known fields).
    @Test func aDuplicateOfAMemberNobodyReadsIsSkipped() throws {
        let body = #"{"tags":["a"],"x":1,"x":2}"#
        #expect(try JSON.decode(Nested.Inner.self, from: Array(body.utf8)) == .init(tags: ["a"], score: nil))
    }

    @Test func theCodableDecoderReadsMembersInAnyOrderAndSkipsUnknownOnes() throws {
        let body = #"{"score":2.5,"x":{"y":[null,"\u00e9"]},"tags":["a\n"]}"#
        #expect(try JSON.decode(Nested.Inner.self, from: Array(body.utf8)) == .init(tags: ["a\n"], score: 2.5))
    }
}

/// `Response.json` writes a document on the stack first (1 KiB) and moves
/// to the heap when it grows past that: documents on both sides of the
/// limit, from synchronous and async handlers, come back whole and exact.
@Suite struct ResponseJSONSizeTests {
    struct Row: Codable, Equatable, Sendable {
        let id: Int
        let text: String
    }

    /// Rows whose JSON is about `bytes` long.
    static func rows(_ bytes: Int) -> [Row] {
        (0..<max(bytes / 40, 1)).map { Row(id: $0, text: String(repeating: "x", count: 20)) }
    }

    static let sizes = [10, 1000, 1024, 1100, 5000, 70_000]

    @Test func documentsAroundTheStackStartComeBackWhole() throws {
        let router = Router()
        router.get("/sync/:n") { req in .json(Self.rows(Int(try req.param("n") ?? "") ?? 0)) }
        router.get("/async/:n") { (req: Request) async throws -> Response in
            await Task.yield()
            return .json(Self.rows(Int(try req.param("n") ?? "") ?? 0))
        }
        // A String is JSONValueEncodable: the other overload.
        router.get("/value/:n") { req in .json(String(repeating: "y", count: Int(try req.param("n") ?? "") ?? 0)) }
        let app = try TestApp(router)
        defer { app.stop() }
        for n in Self.sizes {
            let expected = try JSON.encode(Self.rows(n))
            for path in ["/sync/\(n)", "/async/\(n)"] {
                let r = try app.get(path)
                #expect(r.status == .ok && r.header("Content-Type") == "application/json", "\(path)")
                #expect(r.body == expected, "\(path): \(r.body.count) bytes, expected \(expected.count)")
                #expect(try JSON.decode([Row].self, from: r.body) == Self.rows(n), "\(path)")
            }
            let string = try app.get("/value/\(n)")
            #expect(string.text == "\"" + String(repeating: "y", count: n) + "\"", "/value/\(n): \(string.body.count) bytes")
        }
    }
}
