// fuzz_json_generated.swift - libFuzzer target for the code @JSON writes
// (built with swiftc -sanitize=fuzzer by `make fuzz`, together with
// GeneratedModels.swift, the macro's expansion of GeneratedModels.input).
// Any input must give a value or an error, never a trap. A value that the
// generated decoder accepts must encode (through the generated encoder, and
// the same bytes through the generated Codable conformance) and decode
// again, by both generated decoders, to the same value.

/// The generated Codable code names its keys `JSONCodingKey`, which the
/// ChopinJSON module declares; that module (it also declares the macro) is
/// not part of this swiftc build, so a key of the same shape stands in.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ stringValue: String) { self.stringValue = stringValue }
    init(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { nil }
}

/// Reaches FuzzOrder's generated `init(from:)`: a plain Decodable wrapper
/// goes through Chopin's Codable path, which hands its decoder on.
struct ViaCodable: Decodable {
    let order: FuzzOrder
    init(from decoder: any Decoder) throws { order = try FuzzOrder(from: decoder) }
}

/// Reaches FuzzOrder's generated `encode(to:)` the same way.
struct ViaEncodable: Encodable {
    let order: FuzzOrder
    func encode(to encoder: any Encoder) throws { try order.encode(to: encoder) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONGenerated(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // The generated Codable decoder on anything: an error or a value.
    let viaCodable = try? JSON.decode(ViaCodable.self, from: bytes)
    _ = try? JSON.decode([FuzzOrder.Line].self, from: bytes)
    _ = try? JSON.decode(FuzzAddress.self, from: bytes)
    guard let order = try? JSONReader.decode(FuzzOrder.self, from: bytes) else { return 0 }

    // What the direct decoder accepts, the Codable one accepts as the same value.
    guard let viaCodable else { fatalError("the generated decoder accepted what its Codable twin refused") }
    if viaCodable.order != order { fatalError("the generated decoders disagree on the value") }

    guard let written = try? JSON.encode(order) else { fatalError("a decoded value did not encode") }
    guard let writtenByCodable = try? JSON.encode(ViaEncodable(order: order)) else {
        fatalError("a decoded value did not encode through Codable")
    }
    if written != writtenByCodable { fatalError("the generated encoders wrote different JSON") }
    let back = written.withUnsafeBytes { try? JSONReader.decode(FuzzOrder.self, from: $0) }
    // Doubles compare by value; NaN cannot come out of JSON.
    if back != order { fatalError("round trip through the generated code changed the value") }
    if (try? JSON.decode(ViaCodable.self, from: written))?.order != order {
        fatalError("round trip through the generated Codable decoder changed the value")
    }
    return 0
}
