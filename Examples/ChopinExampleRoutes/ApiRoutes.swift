import Chopin

/// The token that `/api/*` accepts in this example (see the README):
/// `curl -H 'Authorization: Bearer chopin-demo-token' localhost:8080/api/me`.
public let exampleAPIToken = "chopin-demo-token"

/// Who a token belongs to: what the bearer middleware puts in the
/// request's storage for the handlers to read.
public struct APIUser: Sendable, Equatable {
    public let id: UInt64
    public let name: String
}

/// The tokens the API knows, looked up as a real service would look them
/// up in a database or a session store: with an await.
actor TokenStore {
    private let users: [String: APIUser]

    init(_ users: [String: APIUser]) { self.users = users }

    func user(forToken token: String) async -> APIUser? { users[token] }
}

/// `Authorization: Bearer <token>` checked against the store: the user goes
/// into `request.storage`, or the request is answered 401 with a
/// `WWW-Authenticate` challenge before any handler or extractor runs.
struct BearerAuth: Middleware {
    let tokens: TokenStore

    func handle(_ request: Request, next: Next) async throws -> Response {
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
            let user = await tokens.user(forToken: String(header.dropFirst(7)))
        else {
            throw HTTPError(.unauthorized, "a bearer token is needed", headers: [("WWW-Authenticate", #"Bearer realm="chopin-example""#)])
        }
        var request = request
        request.storage[APIUser.self] = user
        return try await next(request)
    }
}

/// `GET /api/me` (a synchronous handler), `GET /api/me/async` (an async
/// one) and the WebSocket `GET /api/ws` (greets the user, then echoes)
/// behind the bearer middleware, each reading the user it stored.
func addAPIRoutes(to router: Router) {
    let tokens = TokenStore([exampleAPIToken: APIUser(id: 1, name: "kowito")])
    router.group("/api") { api in
        api.use(RouteMetrics())  // /metrics: http_server_request_duration_seconds for /api/*
        api.use(BearerAuth(tokens: tokens))
        api.get("/me") { req throws in
            guard let user = req.storage[APIUser.self] else { throw HTTPError(.unauthorized) }
            return req.json(User(id: user.id, username: user.name))
        }
        api.get("/me/async") { (req: Request) async throws -> Response in
            guard let user = req.storage[APIUser.self] else { throw HTTPError(.unauthorized) }
            return .json(User(id: user.id, username: user.name))
        }
        api.webSocket("/ws") { ws in
            try await ws.send(text: "hello \(ws.request.storage[APIUser.self]?.name ?? "nobody")")
            for try await message in ws.messages { try await ws.send(message) }
        }
    }
}
