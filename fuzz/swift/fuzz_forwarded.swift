// fuzz_forwarded.swift - libFuzzer target for the forwarding headers read
// behind trusted proxies (X-Forwarded-For, RFC 7239 Forwarded) and the
// address and range readers: any value must read without trapping, every
// hop must be text of the value itself, and every address read must print
// as text that reads back as the same address.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForwarded(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let value = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let hops = data[0] & 1 == 0 ? ForwardedFor.xForwardedFor(value) : ForwardedFor.forwarded(value)
    for hop in hops {
        if !hop.isEmpty && !value.contains(hop) { fatalError("hop '\(hop)' is not in the value") }
        guard let address = ForwardedFor.address(hop) else { continue }
        if IPAddress(address.description) != address { fatalError("'\(address)' does not read back") }
    }
    if let range = AddressRange(value), !range.contains(range.base) { fatalError("'\(value)' excludes its own base") }
    return 0
}
