import Chopin
import ChopinJSON
import Logging
import PostgresNIO

/// A row of TechEmpower's `World` table: `{"id":3217,"randomNumber":2149}`.
@JSON public struct World: Sendable, Equatable {
    public let id: Int
    public let randomNumber: Int

    public init(id: Int, randomNumber: Int) {
        self.id = id
        self.randomNumber = randomNumber
    }
}

/// The `World` table (10,000 rows) behind chopin-example's `/db` and
/// `/queries`, through a postgres-nio connection pool.
public final class WorldDatabase: Sendable {
    let client: PostgresClient

    /// Connects to what `url` names, `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`,
    /// or `postgres://USER@/DATABASE?host=/socket/dir` for a Unix socket
    /// (`.s.PGSQL.5432` in that folder, or the port given). Connections open
    /// once ``run()`` runs, up to `connections` at a time.
    public init(url: String, connections: Int = 16) throws(DatabaseURLError) {
        var config = try Self.configuration(url)
        config.options.maximumConnections = connections
        var logger = Logger(label: "chopin-example.db")
        logger.logLevel = .error
        client = PostgresClient(configuration: config, backgroundLogger: logger)
    }

    /// Runs the pool until the task running it is cancelled.
    public func run() async { await client.run() }

    /// The row with this id (1...10000).
    public func world(_ id: Int) async throws -> World {
        let rows = try await client.query("SELECT id, randomnumber FROM world WHERE id = \(Int32(id))")
        for try await (id, number) in rows.decode((Int32, Int32).self) {
            return World(id: Int(id), randomNumber: Int(number))
        }
        throw HTTPError(404, "no world \(id)")
    }

    static func configuration(_ url: String) throws(DatabaseURLError) -> PostgresClient.Configuration {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), let scheme = url.range(of: "://") else {
            throw DatabaseURLError(url: url, problem: "it must start with postgres://")
        }
        var rest = url[scheme.upperBound...]
        var socketDir: String?
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") where pair.hasPrefix("host=") {
                socketDir = String(pair.dropFirst(5))
            }
            rest = rest[..<q]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw DatabaseURLError(url: url, problem: "it names no database (…/DATABASE)")
        }
        let database = String(rest[rest.index(after: slash)...])
        var authority = rest[..<slash]
        var user = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                user = String(credentials)
            }
        }
        var host = String(authority)
        var port = 5432
        if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]) else {
                throw DatabaseURLError(url: url, problem: "its port is not a number")
            }
            port = p
            host = String(authority[..<colon])
        }
        if let socketDir {
            return .init(
                unixSocketPath: "\(socketDir)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        guard !host.isEmpty else { throw DatabaseURLError(url: url, problem: "it names no host") }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }
}

/// A database URL chopin-example cannot use, and why.
public struct DatabaseURLError: Error, CustomStringConvertible, Sendable {
    public let url: String
    public let problem: String
    public var description: String { "CHOPIN_DATABASE_URL '\(url)': \(problem)" }
}
