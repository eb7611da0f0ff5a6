import ArgumentParser
import CentralIngest
import CentralPostgres
import Foundation
import Logging

/// The schema of an earlier release, and the time this release's first start takes to migrate a
/// store of it (bench/pg-partition-upgrade).
struct PostgresUpgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pg-upgrade",
        abstract: "Print the PostgreSQL schema up to a migration step (--schema-until), or open a database, migrating it, and time that.")

    @Option(help: "Print the SQL of every migration step before this one, and exit.") var schemaUntil: String?
    @Option(help: "PostgreSQL port on 127.0.0.1 (user millwright, trust authentication).") var port = 5432
    @Option(help: "The database to open (and migrate).") var database = "bench"

    func run() async throws {
        if let until = schemaUntil {
            guard PostgresMigrations.steps.contains(where: { $0.name == until }) else { throw ValidationError("no migration step named \(until)") }
            var sql = "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());\n"
            for step in PostgresMigrations.steps.prefix(while: { $0.name != until }) {
                for q in step.sql { sql += q + ";\n" }
                sql += "INSERT INTO schema_migrations (name) VALUES ('\(step.name)');\n"
            }
            print(sql)
            return
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let settings = StoreSettings.PostgreSQL(host: "127.0.0.1", port: port, user: "millwright", database: database, connections: 2, tls: .disable)
        let start = ContinuousClock.now
        let db = try await PostgresDatabase(settings: settings, logger: logger, connectTimeout: .seconds(30))
        let took = seconds(since: start)
        db.close()
        print(String(format: "opened and migrated %@ in %.2f s", database, took))
        printResult(["seconds": took])
    }
}
