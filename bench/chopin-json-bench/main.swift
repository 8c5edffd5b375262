// chopin-json-bench: Foundation's JSONEncoder/JSONDecoder, Chopin's Codable
// path and @JSON on the same payloads, in one run. Prints the median of 7
// rounds, ns/op and MB/s (bytes of the JSON Chopin writes), and the ratios
// Foundation time / Chopin time (above 1: Chopin is faster).
// Build with -c release: swift run -c release chopin-json-bench
import Chopin
import ChopinJSON
import Foundation

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Median nanoseconds per call of `body` over 7 rounds of `n` calls.
func measure(_ n: Int, _ body: () throws -> Int) rethrows -> Double {
    var sink = 0
    var rounds: [Double] = []
    for _ in 0..<7 {
        let t0 = now()
        for _ in 0..<n { sink &+= try body() }
        rounds.append((now() - t0) / Double(n) * 1e9)
    }
    if sink == 42 { print("") }
    return rounds.sorted()[3]
}

let encoder = JSONEncoder()
let decoder = JSONDecoder()

struct Row {
    let name: String
    let bytes: Int
    let foundation: Double
    let codable: Double
    let macro: Double
}

var rows: [Row] = []

@MainActor func bench<C: Codable, J: Codable>(_ name: String, _ c: C, _ j: J) throws {
    let bytes = try JSON.encode(j)
    let data = Data(bytes)
    // Same bytes from all three, or the comparison means nothing.
    let viaCodable = try JSON.encode(c)
    precondition(viaCodable == bytes, "\(name): Codable and @JSON wrote different JSON")
    let n = max(20, 4_000_000 / bytes.count)
    rows.append(
        Row(
            name: "\(name) encode", bytes: bytes.count,
            foundation: try measure(n) { try encoder.encode(c).count },
            codable: try measure(n) { try JSON.encode(c).count },
            macro: try measure(n) { try JSON.encode(j).count }))
    rows.append(
        Row(
            name: "\(name) decode", bytes: bytes.count,
            foundation: try measure(n) { _ = try decoder.decode(C.self, from: data); return 1 },
            codable: try measure(n) { _ = try JSON.decode(C.self, from: bytes); return 1 },
            macro: try measure(n) { _ = try JSON.decode(J.self, from: bytes); return 1 }))
}

let world = WorldC(id: 4174, randomNumber: 331)
try bench("World row", world, WorldJ(id: world.id, randomNumber: world.randomNumber))
let order = makeOrder(42)
try bench("order (20 fields, 5 items)", order, OrderJ(order))
try bench("100 users", users, users.map(ProfileJ.init))
try bench("1 MB page", page, PageJ(page: page.page, orders: page.orders.map(OrderJ.init)))

func f(_ v: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }
func mbps(_ bytes: Int, _ ns: Double) -> String { f(Double(bytes) / ns * 1000) }

print("| case | bytes | Foundation ns/op | Codable ns/op | @JSON ns/op | Foundation MB/s | Codable MB/s | @JSON MB/s | Codable vs Foundation | @JSON vs Foundation |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows {
    print(
        "| \(r.name) | \(r.bytes) | \(f(r.foundation)) | \(f(r.codable)) | \(f(r.macro)) | \(mbps(r.bytes, r.foundation)) | \(mbps(r.bytes, r.codable)) | \(mbps(r.bytes, r.macro)) | \(f(r.foundation / r.codable, 2))x | \(f(r.foundation / r.macro, 2))x |"
    )
}
