extension String {
    /// Calls `body` with the string's UTF-8 bytes: a native String (a
    /// literal, or nearly any built at run time) lends its own storage;
    /// only a bridged or foreign one is copied first. `withUTF8` wants a
    /// `var`, and copying a String into one costs a retain and a release,
    /// which the per-request paths (headers, JSON strings, text bodies, the
    /// crash record's route) cannot afford.
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let lent = try utf8.withContiguousStorageIfAvailable(body) { return lent }
        var copy = self
        return try copy.withUTF8(body)
    }
}
