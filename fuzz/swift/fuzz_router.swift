// fuzz_router.swift - libFuzzer target for route matching: any request
// target must route to a route, 404, 405 or 501 without trapping, and the
// parameters it captures must come from the path itself. A wildcard that
// RelativePath accepts must hold no segment that could leave its root.

let router: Router = {
    let r = Router()
    for p in [
        "/", "/plaintext", "/user/:id", "/user/:id/posts/:post", "/user/me", "/static/*path",
        "/a/b/c", "/a/:x/d", "/files/:name", "/org/:org/repo/:repo/*rest",
    ] {
        r.get(p) { _ in .text(p) }
    }
    r.post("/user/:id") { _ in .text("") }
    return r
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouter(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let methods = ["GET", "HEAD", "POST", "DELETE", "PURGE"]
    let method = methods[Int(data[0]) % methods.count]
    let target = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    guard let decision = try? router.decide(method, "/" + target) else { return 0 }
    guard [200, 404, 405, 501].contains(decision.status) else { fatalError("status \(decision.status)") }
    if decision.status == 200 && decision.pattern.isEmpty { fatalError("matched without a pattern") }
    for segment in decision.relativePath ?? [] {
        if segment.isEmpty || segment == "." || segment == ".." { fatalError("dot or empty segment '\(segment)'") }
        if segment.utf8.contains(where: { $0 == 0 || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }) {
            fatalError("separator or NUL in segment '\(segment)'")
        }
    }
    return 0
}
