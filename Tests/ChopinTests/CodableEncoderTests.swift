// What the Codable encoder (JSON.encode / writer.encode on a plain Encodable)
// writes for every kind of container a type's encode(to:) may ask for, and
// the errors it throws. The bytes are pinned exactly: a faster encoder must
// write the same ones.
import Testing

@testable import Chopin

/// Uses every container an `Encoder` offers, by hand.
private struct Everything: Encodable {
    enum Keys: String, CodingKey { case a, b, list, object, single, nothing, deep, `super` }
    enum InnerKeys: String, CodingKey { case x, y }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .a)
        try c.encodeNil(forKey: .nothing)
        var list = c.nestedUnkeyedContainer(forKey: .list)
        try list.encode(true)
        try list.encodeNil()
        try list.encode("s")
        try list.encode(Int8(-8))
        try list.encode(UInt16(16))
        try list.encode(Float(0.5))
        var listObject = list.nestedContainer(keyedBy: InnerKeys.self)
        try listObject.encode(2.5, forKey: .x)
        var listList = list.nestedUnkeyedContainer()
        try listList.encode([1, 2])
        try list.encode(UInt64.max)
        var object = c.nestedContainer(keyedBy: InnerKeys.self, forKey: .object)
        try object.encode("x", forKey: .x)
        var deep = object.nestedContainer(keyedBy: InnerKeys.self, forKey: .y)
        try deep.encode(Int64.min, forKey: .x)
        try deep.encodeIfPresent(Optional<Int>.none, forKey: .y)
        try c.encode(Single(value: "one"), forKey: .single)
        try c.encode(["k": [Optional<Int>.none, 3]], forKey: .deep)
        try c.encode(false, forKey: .b)
    }
}

private struct Single: Encodable {
    let value: String
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// A class hierarchy that writes its parent through superEncoder.
private class Base: Encodable {
    let id = 7
    enum Keys: String, CodingKey { case id }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
    }
}

private final class Derived: Base, @unchecked Sendable {
    enum DerivedKeys: String, CodingKey { case name, parent }
    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DerivedKeys.self)
        try c.encode("d", forKey: .name)
        try super.encode(to: c.superEncoder())
        try super.encode(to: c.superEncoder(forKey: .parent))
    }
}

/// Writes the coding path it was encoded at, as text.
private struct WhereAmI: Encodable {
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(encoder.codingPath.map(\.stringValue).joined(separator: "."))
    }
}

private struct Located: Encodable {
    let here = WhereAmI()
    let list = [WhereAmI(), WhereAmI()]
    let nested = ["k": [WhereAmI()]]
}

/// Keys that need escaping.
private struct OddKeys: Encodable {
    enum CodingKeys: String, CodingKey {
        case quote = "a\"b"
        case line = "line\nbreak"
        case accent = "caf\u{e9}"
    }
    let quote = 1
    let line = 2
    let accent = 3
}

private struct Measure: Encodable {
    struct Inner: Encodable { let ratio: Double }
    let name: String
    let inner: Inner
}

private struct Ratios: Encodable { let values: [Double] }

/// A type with its own JSON, nested in a plain Codable one.
private struct OwnJSON: Encodable, JSONEncodable {
    let n: Int
    func encodeJSON(to object: inout JSONObjectWriter) { object.field("n", n) }
}

private struct HoldsOwnJSON: Encodable {
    let own: OwnJSON
    let many: [OwnJSON]
    let maybe: OwnJSON?
}

/// Nests itself `depth` times.
private struct Russian: Encodable {
    let depth: Int
    func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        if depth > 0 { try c.encode(Russian(depth: depth - 1)) }
    }
}

@Suite struct CodableEncoderTests {
    private func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try JSON.encode(v), as: UTF8.self) }

    @Test func everyContainerKindWritesTheSameBytes() throws {
        #expect(
            try text(Everything())
                == #"{"a":1,"nothing":null,"list":[true,null,"s",-8,16,0.5,{"x":2.5},[[1,2]],18446744073709551615],"#
                + #""object":{"x":"x","y":{"x":-9223372036854775808}},"single":"one","deep":{"k":[null,3]},"b":false}"#)
    }

    @Test func superEncoderWritesTheParentUnderItsKey() throws {
        #expect(try text(Derived()) == #"{"name":"d","super":{"id":7},"parent":{"id":7}}"#)
    }

    @Test func nilOptionalsAreLeftOutAndExplicitNilIsNull() throws {
        struct Maybe: Encodable { let a: Int?; let b: String? }
        #expect(try text(Maybe(a: nil, b: "x")) == #"{"b":"x"}"#)
        #expect(try text([Optional<Int>.none, 1]) == "[null,1]")
        #expect(try text(Optional<Int>.none) == "null")
    }

    @Test func keysAreEscaped() throws {
        #expect(try text(OddKeys()) == #"{"a\"b":1,"line\nbreak":2,"café":3}"#)
        #expect(try text(["\u{01}\"": 1]) == #"{"\u0001\"":1}"#)
    }

    @Test func longStringsWithEscapesCrossBufferBoundaries() throws {
        let long = String(repeating: "abc\"\\\n\u{1f}é", count: 300)
        let expected = "\"" + String(repeating: #"abc\"\\\n\u001fé"#, count: 300) + "\""
        #expect(try text([long, long]) == "[\(expected),\(expected)]")
        struct Wrap: Encodable { let s: String }
        #expect(try text(Wrap(s: long)) == #"{"s":"# + expected + "}")
    }

    @Test func theCodingPathIsTheRouteToTheValue() throws {
        #expect(try text(Located()) == #"{"here":"here","list":["list.0","list.1"],"nested":{"k":["nested.k.0"]}}"#)
        #expect(try text([[WhereAmI()]]) == #"[["0.0"]]"#)
    }

    @Test func aNonFiniteDoubleIsAnErrorWithItsPath() throws {
        for bad in [Double.nan, .infinity, -.infinity] {
            let error = #expect(throws: EncodingError.self) {
                try JSON.encode(Measure(name: "m", inner: .init(ratio: bad)))
            }
            guard case .invalidValue(_, let context) = error else {
                Issue.record("not invalidValue: \(String(describing: error))")
                continue
            }
            #expect(context.codingPath.map(\.stringValue) == ["inner", "ratio"])
            #expect(throws: EncodingError.self) { try JSON.encode(Ratios(values: [1, bad])) }
        }
    }

    @Test func typesWithTheirOwnJSONWriteItInsideCodableOnes() throws {
        let v = HoldsOwnJSON(own: .init(n: 1), many: [.init(n: 2), .init(n: 3)], maybe: nil)
        #expect(try text(v) == #"{"own":{"n":1},"many":[{"n":2},{"n":3}]}"#)
    }

    @Test func tooDeepIsAnErrorNotACrash() throws {
        #expect(try text(Russian(depth: 3)) == "[[[[]]]]")
        #expect(throws: (any Error).self) { try JSON.encode(Russian(depth: 100)) }
    }

    @Test func integersOfEveryWidth() throws {
        struct Widths: Encodable {
            let i8 = Int8.min, i16 = Int16.min, i32 = Int32.min, i64 = Int64.min, i = Int.max
            let u8 = UInt8.max, u16 = UInt16.max, u32 = UInt32.max, u64 = UInt64.max, u = UInt(0)
            let f = Float(1.5), d = -0.25
        }
        #expect(
            try text(Widths())
                == #"{"i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"i":9223372036854775807,"#
                + #""u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,"u":0,"f":1.5,"d":-0.25}"#)
    }
}
