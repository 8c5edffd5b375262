import ChopinJSON

// The values the example routes answer and read. Public so that the tests
// and the JSON benchmark use the very types chopin-example serves. `@JSON`
// writes their encoders (no allocation) and decoders (no tree).

/// `GET /json`'s body: `{"message":"Hello, World!"}`.
@JSON public struct Message: Sendable, Equatable {
    public let message: String

    public init(message: String) { self.message = message }
}

/// A user, answered by `GET /user/:id` and read from `POST /users` bodies.
@JSON public struct User: Sendable, Equatable {
    public let id: UInt64
    public let username: String

    public init(id: UInt64, username: String) {
        self.id = id
        self.username = username
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
