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

    init(copying r: UnsafePointer<chopin_request>, body: UnsafeRawBufferPointer, peer: PeerAddress?) {
        self.peer = peer
        let source = r.pointee
        let headerCount = source.header_count
        var slices = [source.method_name, source.target, source.path, source.query]
        for i in 0..<headerCount { slices += [source.headers[i].name, source.headers[i].value] }
        let textBytes = slices.reduce(0) { $0 + $1.len }
        let headersAt = (MemoryLayout<chopin_request>.stride + 15) & ~15
        let textAt = headersAt + MemoryLayout<chopin_header>.stride * headerCount
        let total = textAt + textBytes + body.count
        block = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 16)
        let text = (block + textAt).assumingMemoryBound(to: CChar.self)
        var used = 0
        // Each slice copied after the last: the view's pieces need not be
        // together (the path "/" of an absolute-form target is not in the buffer).
        func copy(_ s: chopin_slice) -> chopin_slice {
            guard let p = s.ptr, s.len > 0 else { return chopin_slice(ptr: text + used, len: 0) }
            (text + used).update(from: p, count: s.len)
            defer { used += s.len }
            return chopin_slice(ptr: text + used, len: s.len)
        }
        var copy_ = source
        copy_.method_name = copy(source.method_name)
        copy_.target = copy(source.target)
        copy_.path = copy(source.path)
        copy_.query = copy(source.query)
        let headers = (block + headersAt).bindMemory(to: chopin_header.self, capacity: max(headerCount, 1))
        for i in 0..<headerCount {
            let h = source.headers[i]
            (headers + i).initialize(to: chopin_header(name: copy(h.name), value: copy(h.value)))
        }
        copy_.headers = headerCount > 0 ? headers : nil
        let bodyAt = text + used
        if let b = body.baseAddress, body.count > 0 {
            UnsafeMutableRawPointer(bodyAt).copyMemory(from: b, byteCount: body.count)
        }
        copy_.body = chopin_slice(ptr: bodyAt, len: body.count)
        let head = block.bindMemory(to: chopin_request.self, capacity: 1)
        head.initialize(to: copy_)
        self.head = UnsafePointer(head)
    }

    deinit { block.deallocate() }
}

extension Request {
    /// Copies `view` (its replaced body, if any, in place of the one that
    /// came) into memory of its own; its answer is written to `writer`.
    init(owning view: Request, writer: ResponseWriter) {
        let owned = OwnedRequest(copying: view.head, body: view.body, peer: view.peer)
        self.init(head: owned.head, writer: writer)
        params = view.params
        matched = view.matched
        let extras = RequestExtras()
        extras.owned = owned
        extras.storage = view.storage
        self.extras = extras
    }
}
