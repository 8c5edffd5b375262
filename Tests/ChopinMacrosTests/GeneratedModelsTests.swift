// fuzz/swift/GeneratedModels.swift is @JSON's expansion of
// fuzz/swift/GeneratedModels.input, committed because the fuzz build (plain
// swiftc) cannot run the macro. This test fails when the committed file is
// not what the macro writes today, so the fuzzer never tests stale code.
import Foundation
import Testing

@Suite struct GeneratedModelsTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/swift")

    static let header = """
        // swift-format-ignore-file
        // GENERATED: @JSON's expansion of GeneratedModels.input (the macro in
        // Sources/ChopinMacros, run by Tests/ChopinMacrosTests). Do not edit; write
        // it again with
        //     CHOPIN_WRITE_EXPANSION=1 swift test --filter GeneratedModelsTests
        // GeneratedModelsTests fails while this file differs from what @JSON writes.


        """

    /// The expansion of the input's declarations (its leading comment, up to
    /// the first blank line, stays out).
    static func expected() throws -> (text: String, diagnostics: [String]) {
        let input = try String(
            contentsOf: fuzzDirectory.appendingPathComponent("GeneratedModels.input"), encoding: .utf8)
        let body = input.range(of: "\n\n").map { String(input[$0.upperBound...]) } ?? input
        let expanded = expandJSONMacros(body, fileName: "GeneratedModels.input")
        return (header + expanded.text, expanded.diagnostics)
    }

    @Test func committedExpansionIsWhatTheMacroWritesToday() throws {
        let (text, diagnostics) = try Self.expected()
        #expect(diagnostics.isEmpty, "the macro refused GeneratedModels.input: \(diagnostics)")
        // The input's types all get their code: nothing was dropped quietly.
        for type in ["FuzzOrder", "FuzzOrder.Line", "FuzzAddress"] {
            #expect(text.contains("extension \(type): JSONEncodable, JSONValueEncodable, JSONDecodable {"))
            #expect(text.contains("extension \(type): Encodable, Decodable {"))
        }
        for type in ["FuzzStatus", "FuzzLevel"] {
            #expect(text.contains("extension \(type): JSONValueEncodable, JSONDecodable, Encodable, Decodable {"))
        }
        #expect(!text.dropFirst(Self.header.count).contains("@JSON"))

        let file = Self.fuzzDirectory.appendingPathComponent("GeneratedModels.swift")
        if ProcessInfo.processInfo.environment["CHOPIN_WRITE_EXPANSION"] == "1" {
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: file, encoding: .utf8)
        #expect(
            committed == text,
            """
            fuzz/swift/GeneratedModels.swift is not @JSON's expansion of GeneratedModels.input as the macro \
            writes it today; write it again with CHOPIN_WRITE_EXPANSION=1 swift test --filter GeneratedModelsTests
            """)
    }
}
