/// A single `Range: bytes=...` request (RFC 9110 section 14.2), resolved
/// against a file's size.
enum ByteRange: Equatable {
    /// Serve the whole file: no Range, one that is not `bytes`, several
    /// ranges (allowed: a server may ignore Range), or a malformed one.
    case whole
    /// Bytes `start...end` (inclusive), all within the file.
    case part(start: UInt64, end: UInt64)
    /// No byte of the range lies in the file: 416.
    case unsatisfiable

    init(header: String?, size: UInt64) {
        guard let header, header.hasPrefix("bytes=") else {
            self = .whole
            return
        }
        let spec = header.dropFirst(6).trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else {
            self = .whole
            return
        }
        let first = spec[..<dash].trimmingSpaces
        let last = spec[spec.index(after: dash)...].trimmingSpaces
        if first.isEmpty {
            // bytes=-N: the last N bytes.
            guard let n = UInt64(last) else {
                self = .whole
                return
            }
            self = n == 0 || size == 0 ? .unsatisfiable : .part(start: size - min(n, size), end: size - 1)
            return
        }
        guard let start = UInt64(first) else {
            self = .whole
            return
        }
        var end = size &- 1
        if !last.isEmpty {
            guard let e = UInt64(last), e >= start else {
                self = .whole
                return
            }
            end = min(e, size &- 1)
        }
        self = start >= size ? .unsatisfiable : .part(start: start, end: end)
    }
}

extension Substring {
    /// Without the spaces and tabs HTTP allows around list items and parameters.
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
