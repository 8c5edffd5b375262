import Chopin

// The values the example routes answer and read. Public so that the tests
// and the JSON benchmark use the very types chopin-example serves.

/// `GET /json`'s body: `{"message":"Hello, World!"}`.
public struct Message: Encodable, JSONEncodable, Sendable, Equatable {
    public let message: String

    public init(message: String) { self.message = message }

    public func encodeJSON(to o: inout JSONObjectWriter) { o.field("message", message) }
}

/// A user, written with no allocation (`JSONEncodable`) and read from
/// `POST /users` bodies (`Decodable`).
public struct User: Codable, JSONEncodable, Sendable, Equatable {
    public let id: UInt64
    public let username: String

    public init(id: UInt64, username: String) {
        self.id = id
        self.username = username
    }

    public func encodeJSON(to o: inout JSONObjectWriter) {
        o.field("id", id)
        o.field("username", username)
    }
}

/// `GET /search`'s query: `?q=swift&limit=10`; `limit` may be left out.
public struct Search: Codable, Sendable, Equatable {
    public let q: String
    public let limit: Int?

    public init(q: String, limit: Int?) {
        self.q = q
        self.limit = limit
    }
}
