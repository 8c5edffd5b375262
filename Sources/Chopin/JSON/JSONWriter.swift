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
    private var storage: [UInt8] = []

    // Open containers, as bits: bit d of `objects` says container d is an
    // object (else an array), bit d of `nonEmpty` that it has an element.
    var depth = 0
    var objects: UInt64 = 0
    var nonEmpty: UInt64 = 0
    static let maxDepth = 64

    init(response: ResponseWriter) { sink = .response(response) }

    /// A writer that collects into an array (see ``bytes``).
    public init() { sink = .array }

    /// What was written (array mode).
    public var bytes: [UInt8] {
        var out = storage
        if let base { out.append(contentsOf: UnsafeBufferPointer(start: base, count: used)) }
        return out
    }

    deinit {
        if case .array = sink, let base { base.deallocate() }
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
                storage.append(contentsOf: UnsafeBufferPointer(start: base, count: used))
                base.deallocate()
            }
            base = UnsafeMutablePointer<UInt8>.allocate(capacity: max(want, storage.count))
            capacity = max(want, storage.count)
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
        var s = s
        s.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    mutating func string(_ p: UnsafeRawBufferPointer) {
        ensure(p.count + 2)
        byte(UInt8(ascii: "\""))
        var runStart = 0
        for i in 0..<p.count {
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
        var text = v.description
        text.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    public mutating func bool(_ v: Bool) {
        if v { raw("true") } else { raw("false") }
    }

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
        string(k)
        byte(UInt8(ascii: ":"))
    }
}

/// Why a value could not be written or read as JSON.
public enum JSONError: Error, Sendable, CustomStringConvertible {
    case unrepresentable(String)
    case syntax(String, offset: Int)
    case tooDeep(offset: Int)

    public var description: String {
        switch self {
        case .unrepresentable(let m): return m
        case .syntax(let m, let offset): return "\(m) at byte \(offset)"
        case .tooDeep(let offset): return "nested too deeply at byte \(offset)"
        }
    }
}
