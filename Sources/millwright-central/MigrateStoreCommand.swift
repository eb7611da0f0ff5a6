import ArgumentParser
import CentralIngest
import CentralPostgres
import CentralSQLite
import CentralSync
import Foundation
import Logging
import MillwrightCore
import Synchronization

/// `millwright-central migrate-store`: moves a central from its SQLite file to PostgreSQL.
///
/// Why a command and not a dump and restore: event feed positions differ between the backends
/// (row ids against transaction ids), lists and booleans are stored differently, and the move must
/// be all-or-nothing; `StoreMigration` does this through both backends' transfer seams.
struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Move the central's state from its SQLite file to an empty PostgreSQL database, with the central stopped.",
        discussion: """
            Copies every table in one PostgreSQL transaction and compares row counts before it commits; \
            nothing changes on failure, and it refuses a database that already holds data. Afterwards the \
            SQLite file is kept as a backup and refuses to open (it names where its data went). \
            Exit status: 0 moved, 1 moved but the SQLite file could not be marked as moved, 2 a configuration error, \
            3 PostgreSQL unreachable, 4 refused or failed (nothing moved).
            """)

    @Option(help: "The configuration the central ran with until now (store backend: sqlite; its data_dir holds central.sqlite).")
    var from: String

    @Option(help: "The configuration it will run with (store backend: postgresql); the database must be empty.")
    var to: String

    func run() async throws {
        let old = try loadConfig(from), new = try loadConfig(to)
        guard case .sqlite = old.store else { throw failure("\(from) names a PostgreSQL store: --from must be the SQLite configuration", 2) }
        guard case .postgresql(let settings) = new.store else { throw failure("\(to) names the SQLite store: --to must set store.backend: postgresql", 2) }
        let path = (old.dataDir as NSString).appendingPathComponent("central.sqlite")
        guard FileManager.default.fileExists(atPath: path) else { throw failure("no central store at \(path) (data_dir of \(from))", 2) }

        // An older release's file is brought to the current schema first; a moved one refuses here.
        do {
            let store = try CentralStore(path: path)
            _ = try SyncStore(central: store)
        } catch {
            throw failure("\(error)", 4)
        }
        let source: SQLiteTransferSource
        do { source = try SQLiteTransferSource(path: path) } catch { throw failure("\(error)", 4) }

        var logger = Logger(label: "millwright-central")
        logger.logLevel = .warning
        let database: PostgresDatabase
        do { database = try await PostgresDatabase(settings: settings, logger: logger) } catch {
            await source.close()
            throw failure("\(error)", 3)
        }
        defer { database.close() }
        let target = PostgresTransferTarget(database)
        note("moving \(path) to \(target.location)")
        let started = ContinuousClock.now
        let report: StoreMigration.Report
        do {
            report = try await StoreMigration.run(from: source, to: target, progress: ProgressPrinter().show)
        } catch let error as StoreMigration.MovedButNotMarked {
            await source.close()
            throw failure("\(error)", 1)
        } catch {
            await source.close()
            throw failure("\(error)", 4)
        }
        await source.close()
        let seconds = (ContinuousClock.now - started).inSeconds
        print("moved \(path) to \(target.location) in \(String(format: "%.1f", seconds)) s:")
        for r in report.rows {
            print("  \(r.table.padding(toLength: 20, withPad: " ", startingAt: 0)) \(r.count)")
        }
        for (name, position) in report.cursors.sorted(by: { $0.key < $1.key }) {
            print("  cursor \(name): after event row \(position.row)")
        }
        print("Start the central with \(to). \(path) is kept as a backup and no longer opens.")
    }

    /// Says why on stderr; the caller throws the exit code it returns (so `defer`s still run).
    func failure(_ message: String, _ status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("millwright-central migrate-store: \(message)\n".utf8))
        return ExitCode(status)
    }

    func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}

/// Prints a table's progress at most every two seconds, and when it is done.
final class ProgressPrinter: Sendable {
    let last = Mutex(ContinuousClock.now)

    func show(_ p: StoreMigration.Progress) {
        let now = ContinuousClock.now
        let due = last.withLock { last in
            guard p.copied == p.total || now - last >= .seconds(2) else { return false }
            last = now
            return true
        }
        if due { FileHandle.standardError.write(Data("  \(p.table): \(p.copied) of \(p.total) rows\n".utf8)) }
    }
}
