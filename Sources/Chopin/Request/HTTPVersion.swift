/// The HTTP version a request was sent with: HTTP/1.0 or HTTP/1.1 (Chopin
/// answers HTTP/2 and later with 505 before any handler runs).
///
/// ```swift
/// if ctx.version == .http1_0 { ... }   // no chunked streaming: the body ends with the close
/// ```
public struct HTTPVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 1.
    public let major: Int
    /// 0 or 1.
    public let minor: Int

    /// A version from its two numbers.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0: no keep-alive unless asked for, no chunked encoding.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// "HTTP/1.1", as in the request line.
    public var description: String { "HTTP/\(major).\(minor)" }

    /// Orders versions by major, then minor number.
    public static func < (a: HTTPVersion, b: HTTPVersion) -> Bool {
        (a.major, a.minor) < (b.major, b.minor)
    }
}
