import ChopinExampleDatabase
import ChopinExampleRoutes
import Testing

@testable import Chopin

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL server `make test` starts (scripts/pg.sh) for these tests.
private let databaseURL = getenv("CHOPIN_TEST_DATABASE_URL").map { String(cString: $0) }

/// One row of the reply, as the test reads it back.
private struct Row: Decodable, Equatable {
    let id: Int
    let randomNumber: Int
}

extension EndToEndTests {
    /// chopin-example's /db and /queries against a real PostgreSQL server
    /// (TechEmpower's World table), on both backends.
    @Suite(
        .enabled(
            if: databaseURL != nil,
            "CHOPIN_TEST_DATABASE_URL is not set: `make test` starts a PostgreSQL server for these tests"))
    struct Database {
        @Test(arguments: backends) func dbAndQueriesAnswerFromTheTable(backend: Backend) async throws {
            let db = try WorldDatabase(url: databaseURL ?? "", connections: 4)
            let pool = Task.detached { await db.run() }
            defer { pool.cancel() }
            let router = exampleRouter()
            addDatabaseRoutes(to: router, database: db)
            let server = try startServer(router, backend)
            defer { server.stop() }
            let c = try TestClient(port: server.port)

            let one = try c.request("GET", "/db")
            #expect(one.status == 200)
            #expect(one.header("Content-Type") == "application/json")
            let row = try JSON.decode(Row.self, from: one.body)
            #expect((1...10_000).contains(row.id))
            // The same row, read straight from the table.
            #expect(try await db.world(row.id) == World(id: row.id, randomNumber: row.randomNumber))

            let five = try JSON.decode([Row].self, from: try c.request("GET", "/queries?queries=5").body)
            #expect(five.count == 5)
            for r in five { #expect(try await db.world(r.id).randomNumber == r.randomNumber) }
            // TechEmpower's rules for N: not a number or below 1 means 1; above 500 means 500.
            #expect(try JSON.decode([Row].self, from: try c.request("GET", "/queries?queries=abc").body).count == 1)
            #expect(try JSON.decode([Row].self, from: try c.request("GET", "/queries?queries=0").body).count == 1)
            #expect(try JSON.decode([Row].self, from: try c.request("GET", "/queries").body).count == 1)
            #expect(try JSON.decode([Row].self, from: try c.request("GET", "/queries?queries=501").body).count == 500)
        }
    }

    @Test func withoutADatabaseDbIs503AndSaysWhy() throws {
        let router = exampleRouter()
        addDatabaseRoutes(to: router, database: nil)
        let server = try startServer(router, .epoll)
        defer { server.stop() }
        let c = try TestClient(port: server.port)
        for target in ["/db", "/queries?queries=3"] {
            let reply = try c.request("GET", target)
            #expect(reply.status == 503)
            #expect(reply.text.contains("CHOPIN_DATABASE_URL"))
        }
    }

    @Test func aDatabaseURLThatCannotWorkIsAReadableError() {
        for bad in ["mysql://x/y", "postgres://user@host:port/db", "postgres://user@host:5432", "postgres:///db"] {
            #expect(throws: DatabaseURLError.self) { try WorldDatabase(url: bad) }
        }
    }
}
