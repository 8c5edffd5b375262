/// Writes JSON bytes either straight into a response's body (reserving room
/// in the connection's output buffer as it goes) or into a byte array.
public struct JSONWriter: ~Copyable {
    enum Sink {
        case response(ResponseWriter)
        case array
    }

    private let sink: Sink
    private var base: UnsafeMutablePointer<UInt8>?
    private var used = 0
    private var capacity = 0
    /// Bytes written into the array sink so far (array mode only).
    /// Bytes already moved out of `base` (array mode); nil until then, so
    /// that a writer that never grows releases no array when it ends.
    private var storage: [UInt8]? = nil

    // Open containers, as bits: bit d of `objects` says container d is an
    // object (else an array), bit d of `nonEmpty` that it has an element.
    var depth = 0
    var objects: UInt64 = 0
    var nonEmpty: UInt64 = 0
    static let maxDepth = 64

    init(response: ResponseWriter) { sink = .response(response) }

    /// A writer that collects into an array (see ``bytes``).
    public init() { sink = .array }

    /// An array-mode writer that starts in `buffer` (on the caller's stack,
    /// see ``JSON/encode(_:)``): a small document costs one allocation, its
    /// array, instead of two.
    init(startingIn buffer: UnsafeMutableBufferPointer<UInt8>) {
        sink = .array
        base = buffer.baseAddress
        capacity = buffer.count
        borrowed = true
    }

    /// `base` is the caller's, not to be freed.
    private var borrowed = false

    /// What was written (array mode).
    public var bytes: [UInt8] {
        guard let base else { return storage ?? [] }
        let last = UnsafeBufferPointer(start: base, count: used)
        // Nothing moved out yet (a document that fit where it started): one
        // array of its exact size, not an empty one grown by an append.
        guard var out = storage else { return Array(last) }
        out.append(contentsOf: last)
        return out
    }

    deinit {
        if case .array = sink, let base, !borrowed { base.deallocate() }
    }

    @inline(__always)
    mutating func ensure(_ n: Int) {
        if capacity - used >= n { return }
        grow(n)
    }

    private mutating func grow(_ n: Int) {
        let want = max(n, 256)
        switch sink {
        case .response(let res):
            if base != nil { res.commit(used) }
            base = res.reserve(want)
            capacity = base == nil ? 0 : want
            used = 0
            if base == nil {
                // Out of memory: keep a scratch area so writing goes on; the
                // response was marked failed by the C writer and becomes a 500.
                base = UnsafeMutablePointer<UInt8>.allocate(capacity: want)
                capacity = want
                scratch = true
            }
        case .array:
            if let base {
                var kept = storage ?? []
                storage = nil  // kept stays unique: append grows it in place
                kept.append(contentsOf: UnsafeBufferPointer(start: base, count: used))
                storage = kept
                if !borrowed { base.deallocate() }
                borrowed = false
            }
            let kept = storage?.count ?? 0
            base = UnsafeMutablePointer<UInt8>.allocate(capacity: max(want, kept))
            capacity = max(want, kept)
            used = 0
        }
    }

    private var scratch = false

    /// Hands the last reserved bytes to the response (response mode).
    mutating func finish() {
        if case .response(let res) = sink, let base {
            if scratch {
                base.deallocate()
            } else {
                res.commit(used)
            }
            self.base = nil
            capacity = 0
            used = 0
        }
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        ensure(1)
        base.unsafelyUnwrapped[used] = b
        used += 1
    }

    mutating func raw(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        ensure(n)
        (base.unsafelyUnwrapped + used).update(from: s.utf8Start, count: n)
        used += n
    }

    mutating func raw(_ p: UnsafeRawBufferPointer) {
        ensure(p.count)
        if let src = p.baseAddress {
            UnsafeMutableRawPointer(base.unsafelyUnwrapped + used).copyMemory(from: src, byteCount: p.count)
        }
        used += p.count
    }

    /// A JSON string with escapes (RFC 8259 section 7).
    public mutating func string(_ s: String) {
        s.withUTF8Bytes { string(UnsafeRawBufferPointer($0)) }
    }

    mutating func string(_ p: UnsafeRawBufferPointer) {
        ensure(p.count + 2)
        let clean = JSONWriter.cleanPrefix(p)
        if clean == p.count {
            // Nothing to escape (nearly every string): quotes and bytes
            // straight into the room just ensured.
            let out = base.unsafelyUnwrapped + used
            out[0] = UInt8(ascii: "\"")
            if let src = p.baseAddress { UnsafeMutableRawPointer(out + 1).copyMemory(from: src, byteCount: p.count) }
            out[p.count + 1] = UInt8(ascii: "\"")
            used += p.count + 2
            return
        }
        byte(UInt8(ascii: "\""))
        var runStart = 0
        for i in clean..<p.count {
            let c = p[i]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") { continue }
            raw(UnsafeRawBufferPointer(rebasing: p[runStart..<i]))
            runStart = i + 1
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            default:
                let hex: StaticString = "0123456789abcdef"
                raw("\\u00")
                byte(hex.utf8Start[Int(c >> 4)])
                byte(hex.utf8Start[Int(c & 15)])
            }
        }
        raw(UnsafeRawBufferPointer(rebasing: p[runStart..<p.count]))
        byte(UInt8(ascii: "\""))
    }

    /// How many leading bytes of `p` need no escape. Most strings (and
    /// nearly all keys) need none, so they are checked eight bytes at a time
    /// and then copied in one go.
    @inline(__always)
    static func cleanPrefix(_ p: UnsafeRawBufferPointer) -> Int {
        guard let base = p.baseAddress else { return 0 }
        var i = 0
        while i + 8 <= p.count {
            if needsEscape(base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { break }
            i += 8
        }
        // Fewer than eight bytes left after clean words: the last eight,
        // overlapping what was checked, are one more word instead of up to
        // seven single bytes.
        if p.count - i < 8 && i >= 8
            && !needsEscape(base.loadUnaligned(fromByteOffset: p.count - 8, as: UInt64.self))
        {
            return p.count
        }
        while i < p.count {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { break }
            i += 1
        }
        return i
    }

    /// Whether any of the eight bytes of `w` is a control character, `"` or
    /// `\`. (x - ones) & ~x & highs is non-zero exactly when some byte of x
    /// is zero (a byte of w ^ c is zero where w holds c), and with 0x20 * ones
    /// in place of ones, when some byte is below 0x20.
    @inline(__always)
    static func needsEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        let control = (w &- ones &* 0x20) & ~w & highs != 0
        return control || hasZero(w ^ (ones &* 0x22)) || hasZero(w ^ (ones &* 0x5C))
    }

    /// Writes an integer of any integer type as a JSON number.
    public mutating func int<T: BinaryInteger>(_ v: T) {
        ensure(40)
        if v == 0 {
            byte(UInt8(ascii: "0"))
            return
        }
        var magnitude = v.magnitude
        if v < 0 { byte(UInt8(ascii: "-")) }
        // Digits backwards into a small buffer, then forwards into the output.
        var digits = InlineArray<40, UInt8>(repeating: 0)
        var n = 0
        while magnitude != 0 {
            digits[n] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
            n += 1
        }
        while n > 0 {
            n -= 1
            base.unsafelyUnwrapped[used] = digits[n]
            used += 1
        }
    }

    /// A finite number in its shortest round-tripping form.
    public mutating func double(_ v: Double) throws(JSONError) {
        guard v.isFinite else { throw JSONError.unrepresentable("\(v) is not a JSON number") }
        if v == v.rounded(), abs(v) < 1e15 {
            int(Int64(v))  // exact, and shorter than "1.0"
            return
        }
        // Double writes its shortest round-trip digits to a TextOutputStream
        // from a buffer on the stack; `description` would make a String, and
        // one of more than 15 bytes is on the heap.
        withUnsafeMutablePointer(to: &self) { w in
            var out = DigitsOut(writer: w)
            v.write(to: &out)
        }
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ v: Bool) {
        if v { raw("true") } else { raw("false") }
    }

    /// Writes `null`.
    public mutating func null() { raw("null") }

    // ---- containers -----------------------------------------------------------

    /// Closes containers opened deeper than `level`.
    mutating func close(downTo level: Int) {
        while depth > level {
            depth -= 1
            byte(objects & (1 << UInt64(depth)) != 0 ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    mutating func open(object: Bool) throws(JSONError) {
        guard depth < JSONWriter.maxDepth else {
            throw JSONError.unrepresentable("nested deeper than \(JSONWriter.maxDepth)")
        }
        let bit: UInt64 = 1 << UInt64(depth)
        if object { objects |= bit } else { objects &= ~bit }
        nonEmpty &= ~bit
        byte(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        depth += 1
    }

    /// Starts an element of container `level`: closes what a previous element
    /// left open and writes the comma.
    mutating func element(in level: Int) {
        close(downTo: level + 1)
        let bit: UInt64 = 1 << UInt64(level)
        if nonEmpty & bit != 0 { byte(UInt8(ascii: ",")) }
        nonEmpty |= bit
    }

    mutating func key(_ k: String, in level: Int) {
        element(in: level)
        k.withUTF8Bytes { key(UnsafeRawBufferPointer($0)) }
    }

    /// A member name and its colon; one reserve and one copy for a name that
    /// needs no escape (nearly all of them).
    private mutating func key(_ p: UnsafeRawBufferPointer) {
        guard JSONWriter.cleanPrefix(p) == p.count, let src = p.baseAddress else {
            string(p)
            byte(UInt8(ascii: ":"))
            return
        }
        ensure(p.count + 3)
        let out = base.unsafelyUnwrapped + used
        out[0] = UInt8(ascii: "\"")
        UnsafeMutableRawPointer(out + 1).copyMemory(from: src, byteCount: p.count)
        out[p.count + 1] = UInt8(ascii: "\"")
        out[p.count + 2] = UInt8(ascii: ":")
        used += p.count + 3
    }
}

/// Where `Double.write(to:)` puts its digits: straight into the writer.
private struct DigitsOut: TextOutputStream {
    let writer: UnsafeMutablePointer<JSONWriter>

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        writer.pointee.raw(UnsafeRawBufferPointer(buffer))
    }

    mutating func write(_ string: String) {
        string.withUTF8Bytes { writer.pointee.raw(UnsafeRawBufferPointer($0)) }
    }
}

/// Why a value could not be written or read as JSON.
public enum JSONError: Error, Sendable, CustomStringConvertible {
    /// A value JSON cannot hold (a NaN or an infinite number) or nesting deeper than the
    /// writer allows; the string says which.
    case unrepresentable(String)
    /// Input that is not valid JSON: what is wrong, and the byte offset where it was noticed.
    /// (Chopin's own readers throw ``JSONDecodingError`` instead.)
    case syntax(String, offset: Int)
    /// Input nested too deeply, noticed at byte `offset`. (Chopin's own readers throw
    /// ``JSONDecodingError`` instead.)
    case tooDeep(offset: Int)

    public var description: String {
        switch self {
        case .unrepresentable(let m): return m
        case .syntax(let m, let offset): return "\(m) at byte \(offset)"
        case .tooDeep(let offset): return "nested too deeply at byte \(offset)"
        }
    }
}
