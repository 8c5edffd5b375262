// chopin-json-bench: Chopin's JSON against Foundation's JSONEncoder and
// JSONDecoder on the same values, in the same run. Prints medians of 7
// rounds and the ratio (Foundation time / Chopin time: above 1 means Chopin
// is faster). Build with -c release; timing a debug build means nothing.
import Chopin
import ChopinExampleRoutes
import Foundation

struct Order: Codable {
    struct Line: Codable {
        let sku: String
        let quantity: Int
        let price: Double
        let tags: [String]
    }
    let id: Int64
    let customer: String
    let note: String?
    let paid: Bool
    let lines: [Line]
}

let user = User(id: 123456, username: "kowito")
let order = Order(
    id: 987654321, customer: "Ada \"Countess\" Lovelace\n", note: nil, paid: true,
    lines: (0..<20).map {
        Order.Line(sku: "SKU-\($0)", quantity: $0, price: Double($0) * 1.25 + 0.1, tags: ["a", "b\u{e9}"])
    })

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

let foundationEncoder = JSONEncoder()
let foundationDecoder = JSONDecoder()
let userBytes = try JSON.encode(user)
let orderBytes = try JSON.encode(order)
let userData = Data(userBytes)
let orderData = Data(orderBytes)

var rows: [(String, Double, Double)] = []
rows.append(
    (
        "encode User (JSONEncodable)", try measure(200_000) { try foundationEncoder.encode(user).count },
        try measure(200_000) { try JSON.encode(user).count }
    ))
rows.append(
    (
        "encode Order (Codable)", try measure(20_000) { try foundationEncoder.encode(order).count },
        try measure(20_000) { try JSON.encode(order).count }
    ))
rows.append(
    (
        "decode User", try measure(200_000) { Int(try foundationDecoder.decode(User.self, from: userData).id) },
        try measure(200_000) { Int(try JSON.decode(User.self, from: userBytes).id) }
    ))
rows.append(
    (
        "decode Order", try measure(20_000) { try foundationDecoder.decode(Order.self, from: orderData).lines.count },
        try measure(20_000) { try JSON.decode(Order.self, from: orderBytes).lines.count }
    ))

print("| case | Foundation ns/op | Chopin ns/op | ratio (Foundation/Chopin) |")
print("|---|---:|---:|---:|")
for (name, f, c) in rows {
    print("| \(name) | \(Int(f)) | \(Int(c)) | \(String(format: "%.2f", f / c))x |")
}
