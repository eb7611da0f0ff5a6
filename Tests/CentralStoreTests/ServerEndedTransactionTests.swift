import CentralIngest
@testable import CentralPostgres
import Foundation
import MillwrightCore
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// A transaction PostgreSQL ends on its side (here its idle-in-transaction timeout, as happens to
/// a replica that was paused or starved of CPU mid-transaction) must fail the caller, promptly,
/// and leave the pool usable: a hang here hangs the central's service that made the call.
@Suite("PostgreSQL: a transaction the server ends")
struct ServerEndedTransactionTests {
    @Test func aTransactionTheServerEndsFailsAndThePoolRecovers() async throws {
        let server = try PostgresServer.shared()
        let name = try server.createDatabase()
        let db = try await PostgresDatabase(settings: StoreBackend.settings(server, name, connections: 1), logger: StoreBackend.logger)
        defer { db.close() }
        let outcome = Mutex<String?>(nil)
        let task = Task {
            do {
                try await db.transaction { c in
                    try await c.query("SET LOCAL idle_in_transaction_session_timeout = '300ms'", logger: StoreBackend.logger)
                    // Idle in the transaction until the server has ended the session for it.
                    _ = await eventuallyAsync(timeout: 60) { c.connection.isClosed }
                    try await c.query("SELECT 1", logger: StoreBackend.logger)
                }
                outcome.withLock { $0 = "committed" }
            } catch {
                outcome.withLock { $0 = "failed: \(error)" }
            }
        }
        let finished = await eventuallyAsync(timeout: 120) { outcome.withLock { $0 } != nil }
        #expect(finished, "the transaction neither failed nor committed within 120 s")
        if !finished { task.cancel() }
        // Every attempt is ended the same way: retried, then refused with the reason.
        let failure = outcome.withLock { $0 } ?? "hung"
        #expect(failure.hasPrefix("failed") && failure.contains("closed the connection"), "\(failure)")
        // The pool replaces the dead connection.
        let after = Mutex<String?>(nil)
        let recovered = Task {
            do {
                _ = try await db.query("SELECT 1")
                after.withLock { $0 = "ran" }
            } catch {
                after.withLock { $0 = "failed: \(error)" }
            }
        }
        let ok = await eventuallyAsync(timeout: 180) { after.withLock { $0 } != nil }
        if !ok { recovered.cancel() }
        #expect(after.withLock { $0 } == "ran", "a query after the ended transaction: \(after.withLock { $0 } ?? "hung")")
    }
}
