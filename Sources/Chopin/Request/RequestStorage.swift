/// Values that travel with one request, from the middleware that sets
/// them to the later middleware and the handler that read them: the
/// authenticated user, a session, a request ID.
///
/// Keyed by type: the value's own type, or a ``RequestStorageKey`` where
/// one type is stored under several names.
///
/// ```swift
/// struct User: Sendable { let name: String }
///
/// // in a middleware
/// var request = request
/// request.storage[User.self] = User(name: "ada")
/// return try await next(request)
///
/// // in a handler, synchronous or async
/// router.get("/me") { req in .text(req.storage[User.self]?.name ?? "nobody") }
/// ```
/// A request whose storage is never set carries none: it costs nothing.
public struct RequestStorage: Sendable {
    // Made empty, not from a literal: an empty literal is a call to the
    // literal initializer, paid by every request copied into a task.
    private var values = [ObjectIdentifier: any Sendable]()

    /// Empty storage.
    public init() {}

    /// The value stored under its own type; nil when none is.
    public subscript<T: Sendable>(_ type: T.Type) -> T? {
        get { values[ObjectIdentifier(type)] as? T }
        set { values[ObjectIdentifier(type)] = newValue }
    }

    /// The value stored under `key`; nil when none is.
    public subscript<K: RequestStorageKey>(key key: K.Type) -> K.Value? {
        get { values[ObjectIdentifier(key)] as? K.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }

    /// Whether nothing is stored.
    public var isEmpty: Bool { values.isEmpty }
}

/// A name for a value in ``RequestStorage``, for a type stored under
/// more than one name (two `String`s, say).
///
/// ```swift
/// enum RequestID: RequestStorageKey { typealias Value = String }
/// request.storage[key: RequestID.self] = "7f3a"
/// ```
public protocol RequestStorageKey {
    /// The type of the value stored under this key.
    associatedtype Value: Sendable
}
