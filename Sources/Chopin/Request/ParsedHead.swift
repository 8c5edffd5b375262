internal import CChopinCore

/// Calls `body` with `text` (a request head, request line to blank line)
/// parsed by the C parser: for the places that need a request without a
/// connection (the router's test hook, the stand-in request of the core's
/// own error answers). Throws an ``HTTPError`` with the parser's status
/// when it refuses the head. The request is valid only during `body`.
func withParsedHead<R>(_ text: String, _ body: (UnsafePointer<chopin_request>) throws -> R) throws -> R {
    var raw = Array(text.utf8)
    var headers = [chopin_header](repeating: chopin_header(), count: 8)
    var limits = chopin_parse_limits(max_request_line: 8192, max_head: 16384)
    // The request points into `raw` and `headers`: all of it is used within their closures.
    return try raw.withUnsafeMutableBytes { buf in
        try headers.withUnsafeMutableBufferPointer { slots in
            var request = chopin_request()
            let rc = buf.withMemoryRebound(to: CChar.self) {
                chopin_parse_request($0.baseAddress, $0.count, &request, slots.baseAddress, slots.count, &limits)
            }
            guard rc > 0 else { throw HTTPError(HTTPStatus(Int(-rc)), "unparsable request") }
            // Mutable: routing writes the parameters it finds into it.
            return try withUnsafeMutablePointer(to: &request) { try body(UnsafePointer($0)) }
        }
    }
}
