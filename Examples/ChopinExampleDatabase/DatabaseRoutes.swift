import Chopin

/// `GET /queries?queries=N`'s query. N is read as TechEmpower asks: not a
/// number means 1, and it is clamped to 1...500.
struct QueryCount: Decodable, Sendable {
    let queries: String?

    var count: Int { min(max(Int(queries ?? "") ?? 1, 1), 500) }
}

/// chopin-example's database routes, answered by async handlers:
///
///     GET /db                  one random row of World, as JSON
///     GET /queries?queries=N   N random rows (N clamped to 1...500), as a JSON array
///
/// Without a database both answer 503 and say how to configure one.
public func addDatabaseRoutes(to router: Router, database: WorldDatabase?) {
    guard let database else {
        let unconfigured = HTTPError(
            503, "no database: start chopin-example with CHOPIN_DATABASE_URL=postgres://USER@HOST:PORT/DATABASE")
        router.get("/db") { (_: Request) async throws -> Response in throw unconfigured }
        router.get("/queries") { (_: Request) async throws -> Response in throw unconfigured }
        return
    }
    router.get("/db") { (_: Request) async throws -> Response in
        .json(try await database.world(Int.random(in: 1...10_000)))
    }
    router.get("/queries") { (_: Request, n: Query<QueryCount>) async throws -> Response in
        var worlds: [World] = []
        worlds.reserveCapacity(n.value.count)
        for _ in 0..<n.value.count { worlds.append(try await database.world(Int.random(in: 1...10_000))) }
        return .json(worlds)
    }
}
