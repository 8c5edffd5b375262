import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// One Swift type owns the C response pointer, so the C writer's rules
/// (start once, headers before body, the core's own headers) are kept in
/// one file, and owning it costs a request nothing.
@Suite struct ResponseWriterTests {
    /// A struct of one pointer: copied for free, never retained or released.
    @Test func isATrivialWrapperOfOnePointer() {
        #expect(MemoryLayout<ResponseWriter>.size == MemoryLayout<OpaquePointer>.size)
        #expect(_isPOD(ResponseWriter.self))
    }

    @Test func onlyResponseWriterCallsTheCWriter() throws {
        // #filePath is <root>/Tests/ChopinTests/<this file>.
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
        let sources = root.joined(separator: "/") + "/Sources/Chopin"
        var callers: [String] = []
        for file in try swiftFiles(under: sources) where !file.hasSuffix("/ResponseWriter.swift") {
            if try contents(of: file).contains("chopin_response_") { callers.append(file) }
        }
        #expect(callers.isEmpty, "chopin_response_* called outside ResponseWriter.swift: \(callers)")
    }
}

/// Every .swift file below `folder`, found with opendir/readdir.
private func swiftFiles(under folder: String) throws -> [String] {
    guard let dir = opendir(folder) else { throw TestClient.Failure(description: "cannot open \(folder)") }
    defer { closedir(dir) }
    var found: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name == "." || name == ".." { continue }
        let path = folder + "/" + name
        if entry.pointee.d_type == UInt8(DT_DIR) {
            found += try swiftFiles(under: path)
        } else if name.hasSuffix(".swift") {
            found.append(path)
        }
    }
    return found
}

private func contents(of path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw TestClient.Failure(description: "cannot read \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
