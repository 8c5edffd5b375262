// The compiler plugin that hosts Chopin's macros.
import SwiftCompilerPlugin
import SwiftSyntaxMacros

@main
struct ChopinMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [JSONMacro.self, JSONKeyMacro.self]
}
