import SwiftSyntax

/// One stored property of a `@JSON` struct, as the generated code sees it.
struct JSONField {
    let name: String
    /// The member name in JSON (renamed or snake_cased).
    let key: String
    let type: TypeSyntax?
    let defaultValue: ExprSyntax?
    /// `T?`, `T!` or `Optional<T>`: may be absent or null.
    let isOptional: Bool
    /// A `let` with a value: written, never read.
    let isConstant: Bool

    var local: String { "_json_\(name)" }
    /// The type with one level of Optional removed (for `decodeIfPresent`).
    var wrappedType: String? {
        guard let type else { return nil }
        if let o = type.as(OptionalTypeSyntax.self) { return o.wrappedType.trimmedDescription }
        if let o = type.as(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return o.wrappedType.trimmedDescription }
        if let g = type.as(IdentifierTypeSyntax.self), g.name.text == "Optional",
            let arg = g.genericArgumentClause?.arguments.first
        {
            return arg.argument.trimmedDescription
        }
        return type.trimmedDescription
    }
}

enum JSONKeyStyle {
    case asWritten, snakeCase

    func key(for name: String) -> String {
        switch self {
        case .asWritten: return name
        case .snakeCase: return snakeCased(name)
        }
    }
}

/// `userName` → `user_name`, `userID` → `user_id`, `urlPath` → `url_path`.
func snakeCased(_ name: String) -> String {
    let chars = Array(name)
    var out = ""
    for (i, c) in chars.enumerated() {
        if c.isUppercase && i > 0 {
            let previous = chars[i - 1]
            let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
            if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                out.append("_")
            }
        }
        out += c.lowercased()
    }
    return out
}

/// Why a declaration cannot be `@JSON`.
struct JSONMacroError: Error, CustomStringConvertible {
    let description: String
}

/// The stored properties of a struct's member block, in order.
func storedFields(of members: MemberBlockSyntax, style: JSONKeyStyle) throws -> [JSONField] {
    var fields: [JSONField] = []
    for member in members.members {
        guard let v = member.decl.as(VariableDeclSyntax.self) else { continue }
        let isStatic = v.modifiers.contains { m in
            m.name.tokenKind == .keyword(.static) || m.name.tokenKind == .keyword(.class)
        }
        if isStatic { continue }
        let rename = renamedKey(v.attributes)
        let isLet = v.bindingSpecifier.tokenKind == .keyword(.let)
        let bindings = Array(v.bindings)
        for (i, b) in bindings.enumerated() {
            if let accessors = b.accessorBlock, !onlyObservers(accessors) { continue }
            guard let id = b.pattern.as(IdentifierPatternSyntax.self) else { continue }
            // `let a, b: Int`: the type is written once, on the last name.
            let type = b.typeAnnotation?.type ?? bindings[(i + 1)...].first { $0.typeAnnotation != nil }?.typeAnnotation?.type
            let name = id.identifier.text.trimmingCharacters(in: "`")
            if type == nil && b.initializer == nil {
                throw JSONMacroError(description: "@JSON needs a type annotation on '\(name)'")
            }
            fields.append(
                JSONField(
                    name: name,
                    key: rename ?? style.key(for: name),
                    type: type,
                    defaultValue: b.initializer?.value,
                    isOptional: type.map(isOptionalType) ?? false,
                    isConstant: isLet && b.initializer != nil))
        }
    }
    return fields
}

private func onlyObservers(_ block: AccessorBlockSyntax) -> Bool {
    guard case .accessors(let list) = block.accessors else { return false }
    return list.allSatisfy { a in
        a.accessorSpecifier.tokenKind == .keyword(.willSet) || a.accessorSpecifier.tokenKind == .keyword(.didSet)
    }
}

private func isOptionalType(_ t: TypeSyntax) -> Bool {
    if t.is(OptionalTypeSyntax.self) || t.is(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return true }
    if let g = t.as(IdentifierTypeSyntax.self), g.name.text == "Optional" { return true }
    return false
}

/// The name given by `@JSONKey("...")`, if any.
private func renamedKey(_ attributes: AttributeListSyntax) -> String? {
    for case .attribute(let a) in attributes {
        guard a.attributeName.trimmedDescription == "JSONKey",
            case .argumentList(let args) = a.arguments,
            let literal = args.first?.expression.as(StringLiteralExprSyntax.self)
        else { continue }
        return literal.representedLiteralValue
    }
    return nil
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

/// `text` as a Swift string literal, raw so that quotes and backslashes
/// need no escaping: `#"a"b"#`. Control characters (a line break cannot
/// stand in a one-line literal) are written as escapes: `#"a\#u{a}b"#`.
func swiftLiteral(_ text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) || text.contains("\\" + hashes) { hashes += "#" }
    var body = ""
    for u in text.unicodeScalars {
        if u.value < 0x20 || u.value == 0x7F {
            body += "\\" + hashes + "u{" + String(u.value, radix: 16) + "}"
        } else {
            body.unicodeScalars.append(u)
        }
    }
    return hashes + "\"" + body + "\"" + hashes
}

/// `key` as JSON writes it: quoted, escaped, then a colon.
func quotedJSONKey(_ key: String) -> String {
    var out = "\""
    for u in key.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\":"
}
