internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#endif

/// What a request holds beyond the view: its own copy, a body that
/// middleware replaced, its storage. One reference, absent on the plain
/// synchronous path, so that passing a Request along costs no reference
/// counting there.
final class RequestExtras: @unchecked Sendable {
    // @unchecked: mutated only through Request.uniqueExtras (copy on write),
    // by the one task or thread that holds the request.
    var owned: OwnedRequest?
    var replacedBody: OwnedBytes?
    var storage = RequestStorage()

    init() {}

    func copy() -> RequestExtras {
        let c = RequestExtras()
        c.owned = owned
        c.replacedBody = replacedBody
        c.storage = storage
        return c
    }
}

/// Bytes in one block of memory that never moves, freed with the last
/// reference: a body that middleware replaced (an inflated one).
final class OwnedBytes: @unchecked Sendable {
    // @unchecked: never written after init.
    let bytes: UnsafeRawBufferPointer

    /// Takes `malloc`ed memory over.
    init(taking pointer: UnsafeMutableRawPointer?, count: Int) {
        bytes = UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count)
    }

    deinit { free(UnsafeMutableRawPointer(mutating: bytes.baseAddress)) }
}

/// A request copied out of the connection's buffer: one block that holds a
/// `chopin_request`, its header array and every byte they point at, so
/// that the view's accessors (and the C functions that read a request,
/// such as the header lookup and the WebSocket handshake) work on it
/// unchanged.
final class OwnedRequest: @unchecked Sendable {
    // @unchecked: never written after init.
    let block: UnsafeMutableRawPointer
    let head: UnsafePointer<chopin_request>
    let peer: PeerAddress?
    /// The server's trusted proxies, for ``Request/clientAddress``.
    let proxies: TrustedProxies

    init(
        copying r: UnsafePointer<chopin_request>, body: UnsafeRawBufferPointer, peer: PeerAddress?,
        proxies: TrustedProxies = .none
    ) {
        self.peer = peer
        self.proxies = proxies
        let source = r.pointee
        let headerCount = source.header_count
        // The head is one run of bytes in the connection's buffer, from the
        // method's first byte (head_len of them): copied at once, its slices
        // moved by their offset. A slice outside it (the path "/" of an
        // absolute-form target without one) is copied after it.
        let head = UnsafeRawPointer(source.method_name.ptr).map { UnsafeRawBufferPointer(start: $0, count: source.head_len) }
        func inHead(_ s: chopin_slice) -> Bool {
            guard let p = s.ptr, let start = head?.baseAddress else { return s.len == 0 }
            let offset = UnsafeRawPointer(p) - start
            return offset >= 0 && offset + s.len <= source.head_len
        }
        var outside = 0
        func outsideLength(_ s: chopin_slice) -> Int { inHead(s) ? 0 : s.len }  // no array: one allocation less
        outside += outsideLength(source.method_name) + outsideLength(source.target)
        outside += outsideLength(source.path) + outsideLength(source.query)
        for i in 0..<headerCount {
            let h = source.headers[i]
            outside += outsideLength(h.name) + outsideLength(h.value)
        }
        // The header array right after the request: both are pointer-aligned,
        // malloc's own alignment (a stricter one went through posix_memalign).
        let headersAt = MemoryLayout<chopin_request>.stride
        let textAt = headersAt + MemoryLayout<chopin_header>.stride * headerCount
        let headBytes = head?.count ?? 0
        let total = textAt + headBytes + outside + body.count
        block = UnsafeMutableRawPointer.allocate(
            byteCount: max(total, 1), alignment: max(MemoryLayout<chopin_request>.alignment, MemoryLayout<chopin_header>.alignment))
        let text = (block + textAt).assumingMemoryBound(to: CChar.self)
        if let head, let from = head.baseAddress, headBytes > 0 {
            UnsafeMutableRawPointer(text).copyMemory(from: from, byteCount: headBytes)
        }
        var used = headBytes
        func move(_ s: chopin_slice) -> chopin_slice {
            guard let p = s.ptr, s.len > 0 else { return chopin_slice(ptr: text + used, len: 0) }
            if inHead(s), let start = head?.baseAddress {
                return chopin_slice(ptr: text + (UnsafeRawPointer(p) - start), len: s.len)
            }
            (text + used).update(from: p, count: s.len)
            defer { used += s.len }
            return chopin_slice(ptr: text + used, len: s.len)
        }
        var copy = source
        copy.method_name = move(source.method_name)
        copy.target = move(source.target)
        copy.path = move(source.path)
        copy.query = move(source.query)
        let headers = (block + headersAt).bindMemory(to: chopin_header.self, capacity: max(headerCount, 1))
        for i in 0..<headerCount {
            let h = source.headers[i]
            (headers + i).initialize(to: chopin_header(name: move(h.name), value: move(h.value)))
        }
        copy.headers = headerCount > 0 ? headers : nil
        let bodyAt = text + used
        if let b = body.baseAddress, body.count > 0 {
            UnsafeMutableRawPointer(bodyAt).copyMemory(from: b, byteCount: body.count)
        }
        copy.body = chopin_slice(ptr: bodyAt, len: body.count)
        let request = block.bindMemory(to: chopin_request.self, capacity: 1)
        request.initialize(to: copy)
        self.head = UnsafePointer(request)
    }

    deinit { block.deallocate() }
}

extension Request {
    /// A request over `owned`, whose answer is written to `writer`.
    init(owned: OwnedRequest, writer: ResponseWriter) {
        let extras = RequestExtras()
        extras.owned = owned
        self.init(head: owned.head, writer: writer, matchedRoute: nil, extras: extras)
    }

    /// Copies `view` (its replaced body, if any, in place of the one that
    /// came) into memory of its own; its answer is written to `writer`.
    init(owning view: Request, writer: ResponseWriter) {
        let owned = OwnedRequest(copying: view.head, body: view.body, peer: view.peer, proxies: view.proxies)
        let extras = RequestExtras()
        extras.owned = owned
        // Storage only where a middleware set some (the new extras start empty).
        if let set = view.extras, !set.storage.isEmpty { extras.storage = set.storage }
        // The route parameters came with the head's copy.
        self.init(head: owned.head, writer: writer, matchedRoute: view.matchedRoute, extras: extras)
    }
}
