internal import CChopinCore

/// An HTTP request method. Methods are case-sensitive (RFC 9110 section 9.1).
public struct Method: Sendable, Hashable, CustomStringConvertible {
    /// The method token, e.g. "GET".
    public let name: String

    /// A method by its token, e.g. `Method("M-SEARCH")`; case-sensitive.
    public init(_ name: String) { self.name = name }

    /// GET.
    public static let get = Method("GET")
    /// HEAD.
    public static let head = Method("HEAD")
    /// POST.
    public static let post = Method("POST")
    /// PUT.
    public static let put = Method("PUT")
    /// DELETE.
    public static let delete = Method("DELETE")
    /// PATCH.
    public static let patch = Method("PATCH")
    /// OPTIONS.
    public static let options = Method("OPTIONS")
    /// Not a method of its own: a route registered with it takes every
    /// method its path has no route for (a proxy, a WebDAV-style app),
    /// instead of 405 or 501. `router.any(path) { ... }` registers one.
    public static let any = Method("*")

    /// The method token.
    public var description: String { name }

    /// Whether the name is a token (RFC 9110 section 5.6.2): one or more
    /// letters, digits or one of `!#$%&'*+-.^_|~` and the backtick. The router refuses any other
    /// name when it freezes, since no request could carry it.
    public var isToken: Bool {
        !name.isEmpty && name.utf8.allSatisfy(Method.isTokenByte)
    }

    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}

extension Method {
    /// Index of a method in a route node's handler table: the common ones are
    /// found without comparing strings.
    static func index(of m: chopin_method) -> Int? {
        switch m {
        case CHOPIN_METHOD_GET: return 0
        case CHOPIN_METHOD_HEAD: return 1
        case CHOPIN_METHOD_POST: return 2
        case CHOPIN_METHOD_PUT: return 3
        case CHOPIN_METHOD_DELETE: return 4
        case CHOPIN_METHOD_PATCH: return 5
        case CHOPIN_METHOD_OPTIONS: return 6
        default: return nil
        }
    }

    static let tableOrder: [Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    var tableIndex: Int? { Method.tableOrder.firstIndex(of: self) }
}
