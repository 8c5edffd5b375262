import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@JSON`: writes a struct's JSON encoder (straight into the writer, keys
/// pre-escaped) and decoder (member names matched as bytes, no tree), and
/// `Codable` with the same keys; for an enum with a raw value, its raw value.
public struct JSONMacro: ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        let wanted = Set(protocols.map(\.trimmedDescription))
        let access = accessModifier(declaration.modifiers)
        if let e = declaration.as(EnumDeclSyntax.self) {
            // A raw type comes first in the list; `enum E: Sendable` has none,
            // and conforming it anyway would end in the compiler's obscure
            // complaint about RawRepresentable instead of this one.
            let first = e.inheritanceClause?.inheritedTypes.first?.type.trimmedDescription ?? ""
            guard rawValueTypes.contains(first.hasPrefix("Swift.") ? String(first.dropFirst(6)) : first) else {
                throw JSONMacroError(description: "@JSON applies to enums with a raw value (enum E: String)")
            }
            let names = ["JSONValueEncodable", "JSONDecodable", "Encodable", "Decodable"].filter(wanted.contains)
            if names.isEmpty { return [] }
            return [try ExtensionDeclSyntax("extension \(type.trimmed): \(raw: names.joined(separator: ", ")) {}")]
        }
        guard declaration.is(StructDeclSyntax.self) else {
            throw JSONMacroError(description: "@JSON applies to structs and to enums with a raw value")
        }
        let options = Options(node)
        let fields = try storedFields(of: declaration.memberBlock, style: options.style)
        var out: [ExtensionDeclSyntax] = []
        let fast = ["JSONEncodable", "JSONValueEncodable", "JSONDecodable"].filter(wanted.contains)
        if !fast.isEmpty {
            var members: [String] = []
            if wanted.contains("JSONEncodable") { members.append(encoder(fields, access)) }
            if wanted.contains("JSONDecodable") { members.append(decoder(fields, access, options)) }
            out.append(
                try ExtensionDeclSyntax(
                    "extension \(type.trimmed): \(raw: fast.joined(separator: ", ")) {\n\(raw: members.joined(separator: "\n\n"))\n}"
                ))
        }
        let codable = ["Encodable", "Decodable"].filter(wanted.contains)
        if !codable.isEmpty {
            var members: [String] = []
            if wanted.contains("Encodable") { members.append(codableEncoder(fields, access)) }
            if wanted.contains("Decodable") { members.append(codableDecoder(fields, access)) }
            out.append(
                try ExtensionDeclSyntax(
                    "extension \(type.trimmed): \(raw: codable.joined(separator: ", ")) {\n\(raw: members.joined(separator: "\n\n"))\n}"
                ))
        }
        return out
    }

    /// The raw types an enum's JSON value can have (strings and numbers).
    static let rawValueTypes: Set<String> = [
        "String", "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64",
        "Double", "Float",
    ]

    struct Options {
        var style = JSONKeyStyle.asWritten
        var rejectUnknown = false

        init(_ node: AttributeSyntax) {
            guard case .argumentList(let args) = node.arguments else { return }
            for a in args {
                let value = a.expression.trimmedDescription
                switch a.label?.text {
                case "keys": if value.hasSuffix("snakeCase") { style = .snakeCase }
                case "unknownFields": rejectUnknown = value.hasSuffix("reject")
                default: break
                }
            }
        }
    }

    private static func accessModifier(_ modifiers: DeclModifierListSyntax) -> String {
        for m in modifiers {
            switch m.name.tokenKind {
            case .keyword(.public), .keyword(.open): return "public "
            case .keyword(.package): return "package "
            default: continue
            }
        }
        return ""
    }

    // ---- the fast paths ---------------------------------------------------------

    static func encoder(_ fields: [JSONField], _ access: String) -> String {
        var body: [String] = []
        for f in fields {
            let key = swiftLiteral(quotedJSONKey(f.key))
            if f.isOptional {
                body.append("    if let v = self.\(f.name) { try o.field(quotedKey: \(key), v) }")
            } else {
                body.append("    try o.field(quotedKey: \(key), self.\(f.name))")
            }
        }
        return """
            \(access)func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
            \(body.joined(separator: "\n"))
            }
            """
    }

    static func decoder(_ fields: [JSONField], _ access: String, _ options: Options) -> String {
        let read = fields.filter { !$0.isConstant }
        var lines: [String] = []
        let required = read.filter { !$0.isOptional && $0.defaultValue == nil }
        if !required.isEmpty { lines.append("let start = r.offset") }
        for f in read {
            if let d = f.defaultValue {
                let annotation = f.type.map { ": \($0.trimmedDescription)" } ?? ""
                lines.append("var \(f.local)\(annotation) = \(d.trimmedDescription)")
                lines.append("var \(f.local)_seen = false")
            } else if f.isOptional, let t = f.type {
                lines.append("var \(f.local): \(t.trimmedDescription) = nil")
                lines.append("var \(f.local)_seen = false")
            } else if let t = f.type {
                lines.append("var \(f.local): (\(t.trimmedDescription))? = nil")
            }
        }
        let unknown =
            options.rejectUnknown
            ? "throw JSONDecodingError(.unknownField, \"unknown field\", offset: r.offset).at(key: key.string)"
            : "try r.skipValue()"
        lines.append("var more = try r.beginObject()")
        lines.append("while more {")
        lines.append("    let key = try r.readKey()")
        lines.append("    switch key.count {")
        let byLength = Dictionary(grouping: read) { $0.key.utf8.count }
        for length in byLength.keys.sorted() {
            lines.append("    case \(length):")
            var first = true
            for f in byLength[length] ?? [] {
                let name = swiftLiteral(f.key)
                lines.append("        \(first ? "" : "} else ")if key.matches(\(name)) {")
                first = false
                let seen = f.isOptional || f.defaultValue != nil ? "\(f.local)_seen" : "\(f.local) != nil"
                lines.append("            if \(seen) { throw JSONDecodingError.duplicate(\(name), offset: r.offset) }")
                if f.isOptional || f.defaultValue != nil { lines.append("            \(f.local)_seen = true") }
                if f.defaultValue != nil && f.type == nil {
                    lines.append("            try r.read(into: &\(f.local), key: \(name))")
                } else if let t = f.type {
                    lines.append("            \(f.local) = try r.read((\(t.trimmedDescription)).self, key: \(name))")
                }
            }
            lines.append("        } else {")
            lines.append("            \(unknown)")
            lines.append("        }")
        }
        lines.append("    default:")
        lines.append("        \(unknown)")
        lines.append("    }")
        lines.append("    more = try r.nextMember()")
        lines.append("}")
        for f in read {
            if !f.isOptional && f.defaultValue == nil {
                lines.append(
                    "guard let \(f.local)_value = \(f.local) else { throw JSONDecodingError.missing(\(swiftLiteral(f.key)), offset: start) }"
                )
                lines.append("self.\(f.name) = \(f.local)_value")
            } else {
                lines.append("self.\(f.name) = \(f.local)")
            }
        }
        return """
            \(access)init(json r: inout JSONReader) throws(JSONDecodingError) {
            \(lines.map { "    " + $0 }.joined(separator: "\n"))
            }
            """
    }

    // ---- Codable, with the same keys ------------------------------------------

    static func codableEncoder(_ fields: [JSONField], _ access: String) -> String {
        var body = ["    var c = encoder.container(keyedBy: JSONCodingKey.self)"]
        for f in fields {
            let call = f.isOptional ? "encodeIfPresent" : "encode"
            body.append("    try c.\(call)(self.\(f.name), forKey: JSONCodingKey(\(swiftLiteral(f.key))))")
        }
        return """
            \(access)func encode(to encoder: any Encoder) throws {
            \(body.joined(separator: "\n"))
            }
            """
    }

    static func codableDecoder(_ fields: [JSONField], _ access: String) -> String {
        var body = ["    let c = try decoder.container(keyedBy: JSONCodingKey.self)"]
        for f in fields where !f.isConstant {
            let key = "JSONCodingKey(\(swiftLiteral(f.key)))"
            if let d = f.defaultValue {
                let annotation = f.type.map { ": \($0.trimmedDescription)" } ?? ""
                body.append("    var \(f.local)\(annotation) = \(d.trimmedDescription)")
                body.append(
                    "    if let v = try c.decodeIfPresent(type(of: \(f.local)), forKey: \(key)) { \(f.local) = v }")
                body.append("    self.\(f.name) = \(f.local)")
            } else if let t = f.wrappedType {
                let call = f.isOptional ? "decodeIfPresent" : "decode"
                body.append("    self.\(f.name) = try c.\(call)((\(t)).self, forKey: \(key))")
            }
        }
        return """
            \(access)init(from decoder: any Decoder) throws {
            \(body.joined(separator: "\n"))
            }
            """
    }
}

/// `@JSONKey("name")`: the member name of a field in JSON. It only marks the
/// property; `@JSON` reads it.
public struct JSONKeyMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] { [] }
}
