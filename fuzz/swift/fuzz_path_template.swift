// fuzz_path_template.swift - libFuzzer target for ChopinOpenAPI's path
// templates: any text parses as a template or is refused without trapping,
// and any request path matches a set of templates of every shape (whole
// segments, mixed text and parameters, several in a segment) without
// trapping; every parameter matched is non-empty text of the path itself.

private let templates: [PathTemplate] = [
    "/pets/{petId}", "/files/{name}.zip", "/files/{name}.tar.gz", "/v{major}.{minor}/info",
    "/a/{x}-{y}-{z}", "/{any}", "/", "/static/text",
].compactMap { PathTemplate($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPathTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let parsed = PathTemplate(text), let found = parsed.match(text[...]) {
        for value in found.values where value.isEmpty { fatalError("an empty parameter from '\(text)'") }
    }
    let path = text.hasPrefix("/") ? text : "/" + text
    for template in templates {
        guard let found = template.match(path[...]) else { continue }
        for value in found.values {
            // Compared as bytes: a parameter may start inside a grapheme of the
            // path (after "/", a combining mark), which Character comparison
            // would not see as text of it.
            if value.isEmpty || Array(path.utf8).firstRange(of: Array(value.utf8)) == nil {
                fatalError("'\(value)' is not text of '\(path)'")
            }
        }
    }
    return 0
}
