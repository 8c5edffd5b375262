import ChopinJSON
import Testing

@JSON(keys: .snakeCase)
struct MacroOrder: Equatable {
    let id: UInt64
    let customerName: String
    var note: String? = nil
    var currency = "EUR"
    @JSONKey("lines") let items: [MacroItem]
    let status: MacroStatus
    let totals: [String: Double]
    let version: Int = 2
}

@JSON struct MacroItem: Equatable {
    let sku: String
    let price: Double
    let qty: Int32
}

@JSON enum MacroStatus: String { case open, paid }

@JSON(unknownFields: .reject)
struct StrictPoint: Equatable {
    let x: Int
    let y: Int
}

/// A @JSON type that nests itself (depth must stay bounded on input).
@JSON struct Tree: Equatable {
    var children: [Tree] = []
}

@Suite struct JSONMacroRuntimeTests {
    let order = MacroOrder(
        id: 7, customerName: "Ada \"A\" L\n", note: nil, currency: "GBP",
        items: [.init(sku: "a", price: 1.25, qty: 2), .init(sku: "é✓", price: 0.1, qty: -1)],
        status: .paid, totals: ["net": 2.5])

    private func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try JSON.encode(v), as: UTF8.self) }
    private func decode<T: Decodable>(_ t: T.Type, _ s: String) throws -> T { try JSON.decode(t, from: Array(s.utf8)) }

    @Test func encodesWithRenamedAndSnakeCasedKeysLeavingNilOut() throws {
        #expect(
            try text(order)
                == #"{"id":7,"customer_name":"Ada \"A\" L\n","currency":"GBP","lines":[{"sku":"a","price":1.25,"qty":2},{"sku":"é✓","price":0.1,"qty":-1}],"status":"paid","totals":{"net":2.5},"version":2}"#
        )
    }

    @Test func roundTripsThroughTheGeneratedDecoder() throws {
        #expect(try JSON.decode(MacroOrder.self, from: JSON.encode(order)) == order)
    }

    @Test func absentFieldsTakeTheirDefaultsAndNullIsNil() throws {
        let o = try decode(
            MacroOrder.self, #"{"id":1,"customer_name":"x","note":null,"lines":[],"status":"open","totals":{}}"#)
        #expect(o.currency == "EUR" && o.note == nil && o.items.isEmpty && o.status == .open)
    }

    @Test func memberNamesWithEscapesStillMatch() throws {
        #expect(try decode(MacroItem.self, #"{"\u0073ku":"a","price":1,"qty":3}"#) == MacroItem(sku: "a", price: 1, qty: 3))
    }

    @Test func unknownFieldsAreSkippedOrRefused() throws {
        #expect(try decode(MacroItem.self, #"{"sku":"a","extra":{"deep":[1,2,{}]},"price":1,"qty":3}"#).sku == "a")
        let e = try #require(throws: JSONDecodingError.self) { try decode(StrictPoint.self, #"{"x":1,"y":2,"z":3}"#) }
        #expect(e.kind == .unknownField && e.path == "z")
    }

    @Test func failuresNameThePathOfTheField() throws {
        let body = #"{"id":1,"customer_name":"x","lines":[{"sku":"a","price":1,"qty":1},{"sku":"b","price":"x","qty":1}],"status":"open","totals":{}}"#
        let e = try #require(throws: JSONDecodingError.self) { try decode(MacroOrder.self, body) }
        #expect(e.kind == .mismatch && e.path == "lines[1].price")
        let missing = try #require(throws: JSONDecodingError.self) {
            try decode(MacroOrder.self, #"{"id":1,"lines":[],"status":"open","totals":{}}"#)
        }
        #expect(missing.kind == .missingField && missing.path == "customer_name")
        let badEnum = try #require(throws: JSONDecodingError.self) { try decode([MacroStatus].self, #"["open","shut"]"#) }
        #expect(badEnum.kind == .mismatch && badEnum.path == "[1]")
        let range = try #require(throws: JSONDecodingError.self) { try decode(MacroItem.self, #"{"sku":"a","price":1,"qty":3000000000}"#) }
        #expect(range.kind == .invalidValue && range.path == "qty")
    }

    @Test func duplicateMembersAreRefused() throws {
        let e = try #require(throws: JSONDecodingError.self) { try decode(StrictPoint.self, #"{"x":1,"y":2,"x":3}"#) }
        #expect(e.kind == .duplicateKey && e.path == "x")
        let d = try #require(throws: JSONDecodingError.self) { try decode([String: Int].self, #"{"a":1,"a":2}"#) }
        #expect(d.kind == .duplicateKey)
    }

    @Test(arguments: [
        "", "{", #"{"x":1,"y":2"#, #"{"x":1,"y":2}x"#, #"{"x":01,"y":2}"#, #"{"x":1.,"y":2}"#, #"{"x" 1,"y":2}"#,
        #"{"x":1,,"y":2}"#, "[", #"{"x":1,"y":2,"\ud800":1}"#,
    ])
    func malformedInputIsMalformed(input: String) throws {
        let e = try #require(throws: JSONDecodingError.self) { try decode(StrictPoint.self, input) }
        #expect(e.kind == .malformed)
    }

    @Test func invalidUTF8AndHostileNestingAreRefused() throws {
        let bad: [UInt8] = Array(#"{"sku":""#.utf8) + [0xC0, 0x80] + Array(#"","price":1,"qty":1}"#.utf8)
        #expect(throws: JSONDecodingError.self) { try JSON.decode(MacroItem.self, from: bad) }
        let deep = String(repeating: #"{"children":["#, count: 200) + String(repeating: "]}", count: 200)
        let e = try #require(throws: JSONDecodingError.self) { try decode(Tree.self, deep) }
        #expect(e.kind == .malformed)
        let ok = String(repeating: #"{"children":["#, count: 50) + "{}" + String(repeating: "]}", count: 50)
        #expect(try decode(Tree.self, ok).children.count == 1)
        let long = #"{"x":"# + String(repeating: "1", count: 500) + #","y":1}"#
        #expect(throws: JSONDecodingError.self) { try decode(StrictPoint.self, long) }
    }

    @Test func codableConformanceUsesTheSameKeys() throws {
        // Through the Codable path (a wrapper that is not @JSON).
        struct Wrapper: Codable, Equatable { let order: MacroOrder }
        let bytes = try JSON.encode(Wrapper(order: order))
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""customer_name":"Ada"#))
        #expect(try JSON.decode(Wrapper.self, from: bytes) == Wrapper(order: order))
    }
}
