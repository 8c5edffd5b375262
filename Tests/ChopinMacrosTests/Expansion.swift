// What the tests of the @JSON macro share: the macro as the compiler sees
// it (with the conformances the declaration in ChopinJSON lists) and an
// assertion that reports through Swift Testing.
import ChopinMacros
import SwiftParser
import SwiftSyntax
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacros
import SwiftSyntaxMacrosGenericTestSupport
import Testing

/// `@JSON` and `@JSONKey`, with the conformances that `@attached(extension,
/// conformances:)` in Sources/ChopinJSON/JSONMacro.swift names: the compiler
/// hands the macro those the type does not already have.
let jsonMacros: [String: MacroSpec] = [
    "JSON": MacroSpec(
        type: JSONMacro.self,
        conformances: ["JSONEncodable", "JSONValueEncodable", "JSONDecodable", "Encodable", "Decodable"]),
    "JSONKey": MacroSpec(type: JSONKeyMacro.self),
]

/// Asserts that expanding `source` gives exactly `expanded` (and the given
/// diagnostics), failing the current test otherwise.
func assertJSONExpansion(
    _ source: String, expandedSource expanded: String, diagnostics: [DiagnosticSpec] = [],
    fileID: StaticString = #fileID, filePath: StaticString = #filePath, line: UInt = #line, column: UInt = #column
) {
    assertMacroExpansion(
        source, expandedSource: expanded, diagnostics: diagnostics, macroSpecs: jsonMacros,
        failureHandler: { failure in
            Issue.record(
                Comment(rawValue: failure.message),
                sourceLocation: SourceLocation(
                    fileID: failure.location.fileID, filePath: failure.location.filePath,
                    line: failure.location.line, column: max(failure.location.column, 1)))
        },
        fileID: fileID, filePath: filePath, line: line, column: column)
}

/// The source file `source` becomes once every `@JSON` and `@JSONKey` in it
/// is expanded, as the compiler would (the attributes removed, the
/// extensions after the declarations), and the diagnostics on the way.
func expandJSONMacros(_ source: String, fileName: String = "test.swift") -> (text: String, diagnostics: [String]) {
    let file = Parser.parse(source: source)
    let context = BasicMacroExpansionContext(
        sourceFiles: [file: .init(moduleName: "TestModule", fullFilePath: fileName)])
    let expanded = file.expand(
        macroSpecs: jsonMacros,
        contextGenerator: { syntax in
            BasicMacroExpansionContext(sharingWith: context, lexicalContext: syntax.allMacroLexicalContexts())
        },
        indentationWidth: .spaces(4))
    return (expanded.description, context.diagnostics.map(\.message))
}
