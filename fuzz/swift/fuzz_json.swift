// fuzz_json.swift - libFuzzer target for the JSON reader and both direct
// decoders (built with swiftc -sanitize=fuzzer by `make fuzz`). Any input
// must give a value or an error, never a trap; a value that decodes must
// survive an encode and a second decode unchanged.

struct Shape: Codable, Equatable {
    let a: Int?
    let b: [String]?
    let c: [String: Double]?
    let d: Bool?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var r = JSONReader(bytes)
    _ = try? r.skipValue()
    // The Codable decoder (no tree).
    if let shape = try? JSON.decode(Shape.self, from: bytes) {
        guard let again = try? JSON.encode(shape), let back = try? JSON.decode(Shape.self, from: again) else {
            fatalError("a decoded value did not encode and decode again")
        }
        // Doubles compare by value; NaN cannot come out of JSON.
        if back != shape { fatalError("round trip changed the value") }
    }
    // The direct decoders of the standard types.
    _ = try? JSON.decode([[String: [Int64]]].self, from: bytes)
    _ = try? JSON.decode(String.self, from: bytes)
    return 0
}
