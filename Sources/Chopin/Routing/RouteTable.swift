/// The frozen router flattened for matching: integers in flat arrays, so a
/// lookup copies no String, closure or nested array and so costs no
/// reference counting, and a route whose pattern has no parameter is found
/// by a hash of the whole path without walking segments.
///
/// A class, not a struct: a request reaches it through one reference. As a
/// struct of six arrays held in the App, each lookup copied it to the stack
/// and read it back at other offsets than it was written, and the CPU could
/// not forward those stores to the loads (a stall of a dozen cycles or more).
final class RouteTable: Sendable {
    struct Edge: Sendable {
        var start: Int32
        var count: Int32
        var child: Int32
    }
    struct Node: Sendable {
        var edgeStart: Int32 = 0
        var edgeCount: Int32 = 0
        var param: Int32 = -1
        var wildcard: Int32 = -1
        var hasRoutes = false
    }
    /// One whole static path: its bytes in `bytes`, the node it reaches.
    struct Exact: Sendable {
        var hash: UInt32
        var start: Int32
        var count: Int32
        var node: Int32
    }

    let nodes: [Node]
    private let edges: [Edge]
    /// Static segments, then whole static paths.
    private let bytes: [UInt8]
    /// Open addressing over `exact`, a power of two long; -1 is empty.
    private let buckets: [Int32]
    private let exact: [Exact]
    /// The route of each node for each common method (Method.tableOrder,
    /// HEAD filled from GET where it has none), unowned: the tree keeps them.
    private let routes: [Unmanaged<Route>?]
    static let slots = Method.tableOrder.count

    /// Flattens `tree`'s nodes (same indices) and indexes every static path that has a route.
    init(_ tree: [RouteTree.Node]) {
        var nodes: [Node] = []
        var edges: [Edge] = []
        var bytes: [UInt8] = []
        var exact: [Exact] = []
        var routes: [Unmanaged<Route>?] = []
        for n in tree {
            var flat = Node(
                edgeStart: Int32(edges.count), edgeCount: Int32(n.statics.count), param: Int32(n.param),
                wildcard: Int32(n.wildcard), hasRoutes: n.hasRoutes)
            if n.wildcard >= 0 && !tree[n.wildcard].hasRoutes { flat.wildcard = -1 }
            for s in n.statics {
                edges.append(Edge(start: Int32(bytes.count), count: Int32(s.segment.count), child: Int32(s.child)))
                bytes += s.segment
            }
            nodes.append(flat)
            for slot in 0..<Self.slots {
                // HEAD served by GET; then the route for any method.
                let route = n.handlers[slot] ?? (slot == 1 ? n.handlers[0] : nil) ?? n.anyRoute
                routes.append(route.map { Unmanaged.passUnretained($0) })
            }
        }
        // Every node reached from the root by static segments alone, with its whole path.
        var pending: [(node: Int, path: [UInt8])] = [(0, [])]
        while let (node, path) = pending.popLast() {
            if tree[node].hasRoutes && !path.isEmpty {
                exact.append(
                    Exact(hash: path.withUnsafeBytes { Self.hash($0) }, start: Int32(bytes.count), count: Int32(path.count), node: Int32(node)))
                bytes += path
            }
            for s in tree[node].statics { pending.append((s.child, path + [UInt8(ascii: "/")] + s.segment)) }
        }
        var size = 1
        while size < exact.count * 2 { size *= 2 }
        var buckets = [Int32](repeating: -1, count: size)
        for (i, e) in exact.enumerated() {
            var b = Int(e.hash) & (size - 1)
            while buckets[b] >= 0 { b = (b + 1) & (size - 1) }
            buckets[b] = Int32(i)
        }
        self.nodes = nodes
        self.edges = edges
        self.bytes = bytes
        self.exact = exact
        self.routes = routes
        self.buckets = buckets
    }

    /// FNV-1a over 8-byte words; the tail is one more word, read so that it
    /// ends at the last byte (overlapping the word before), and a path of 4
    /// to 7 bytes is two overlapping 4-byte reads: no loop over single bytes.
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt32 {
        let n = p.count
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ (UInt64(n) << 56)
        guard let base = p.baseAddress else { return UInt32(truncatingIfNeeded: h) }
        if n >= 8 {
            var i = 0
            while i + 8 <= n {
                h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01b3
                h ^= h >> 29
                i += 8
            }
            if i < n {
                h = (h ^ base.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* 0x100_0000_01b3
            }
        } else if n >= 4 {
            let first = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let last = UInt64(base.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            h = (h ^ (first | last << 32)) &* 0x100_0000_01b3
        } else {
            var tail: UInt64 = 0
            for i in 0..<n { tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
            h = (h ^ tail) &* 0x100_0000_01b3
        }
        h ^= h >> 29
        h = h &* 0x100_0000_01b3
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// a and b hold the same count bytes: compared 8 at a time, the tail as
    /// an overlapping last word (4 to 7 bytes: two overlapping 4-byte words).
    private static func same(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        if count >= 8 {
            var i = 0
            while i + 8 <= count {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    return false
                }
                i += 8
            }
            return i == count
                || a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                    == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return a.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == b.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
                    == b.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        for i in 0..<count where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        return true
    }

    /// The node's route for a common method's slot, if it has one.
    func route(_ node: Int, slot: Int) -> Unmanaged<Route>? { routes[node &* Self.slots &+ slot] }

    /// Whether any method is routed at the node.
    func hasRoutes(_ node: Int) -> Bool { nodes[node].hasRoutes }

    func match(_ path: UnsafeRawBufferPointer, _ params: inout RouteParams) -> Int? {
        if let node = exactNode(path) { return node }
        return bytes.withUnsafeBufferPointer { bytes in
            edges.withUnsafeBufferPointer { edges in
                nodes.withUnsafeBufferPointer { nodes in
                    Self.walk(nodes, edges, bytes, node: 0, path: path, pos: 0, params: &params)
                }
            }
        }
    }

    private func exactNode(_ path: UnsafeRawBufferPointer) -> Int? {
        guard let pathStart = path.baseAddress else { return nil }
        let h = Self.hash(path)
        return buckets.withUnsafeBufferPointer { buckets in
            exact.withUnsafeBufferPointer { exact in
                bytes.withUnsafeBytes { bytes -> Int? in
                    guard let stored = bytes.baseAddress else { return nil }
                    let mask = buckets.count - 1
                    var b = Int(h) & mask
                    while buckets[b] >= 0 {
                        let e = exact[Int(buckets[b])]
                        if e.hash == h && Int(e.count) == path.count && Self.same(stored + Int(e.start), pathStart, path.count) {
                            return Int(e.node)
                        }
                        b = (b + 1) & mask
                    }
                    return nil
                }
            }
        }
    }

    /// pos is the index of the '/' before the next segment. Static children are
    /// tried first, then the parameter, then the wildcard (with backtracking).
    private static func walk(
        _ nodes: UnsafeBufferPointer<Node>, _ edges: UnsafeBufferPointer<Edge>, _ bytes: UnsafeBufferPointer<UInt8>,
        node: Int, path: UnsafeRawBufferPointer, pos: Int, params: inout RouteParams
    ) -> Int? {
        let n = nodes[node]
        if pos == path.count { return n.hasRoutes ? node : nil }
        let start = pos + 1
        var end = start
        while end < path.count && path[end] != UInt8(ascii: "/") { end += 1 }
        var k = Int(n.edgeStart)
        let last = k + Int(n.edgeCount)
        while k < last {
            let e = edges[k]
            if Int(e.count) == end - start {
                var same = true
                var i = 0
                while i < Int(e.count) {
                    if bytes[Int(e.start) + i] != path[start + i] { same = false; break }
                    i += 1
                }
                if same, let found = walk(nodes, edges, bytes, node: Int(e.child), path: path, pos: end, params: &params) {
                    return found
                }
            }
            k += 1
        }
        if n.param >= 0 && end > start && params.count < RouteParams.capacity {
            params.set(params.count, ParamSpan(start: UInt32(start), count: UInt32(end - start)))
            params.count += 1
            if let found = walk(nodes, edges, bytes, node: Int(n.param), path: path, pos: end, params: &params) {
                return found
            }
            params.count -= 1
        }
        if n.wildcard >= 0 && params.count < RouteParams.capacity {
            params.set(params.count, ParamSpan(start: UInt32(start), count: UInt32(path.count - start)))
            params.count += 1
            return Int(n.wildcard)
        }
        return nil
    }
}
