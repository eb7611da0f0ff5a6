@testable import CentralSync
@testable import ERPConnectors
import Foundation
import Logging
import MillwrightCore
import Testing
import TestSupport

/// Tryton ends a session idle for `[session] timeout` (5 minutes by default), for example through a
/// network outage. Every call, the context included, must log in again then, instead of sending the
/// dead session until the central restarts.
@Suite(.serialized) struct TrytonSessionTests {
    @Test func anEndedSessionIsRenewedForTheContextAndForCalls() async throws {
        let server = try TrytonServer()
        let config = SyncConfiguration.Tryton(url: server.url, database: TrytonServer.database, user: TrytonServer.integrationUser,
                                              password: TrytonServer.integrationPassword, timeout: Millis(10_000))
        let client = TrytonClient(config: config, logger: Logger(label: "test-tryton"))
        let before = try await client.context()
        #expect(before["company"] != nil || !before.isEmpty)
        // End the session on the server, as its timeout would.
        let dead = try #require(client.session.withLock { $0 })
        _ = try await client.rawCall("common.db.logout", [], auth: dead)
        // The old session is refused now...
        await #expect(throws: TrytonError.self) { _ = try await client.rawCall("model.res.user.get_preferences", [true, [:] as [String: Any]], auth: dead) }
        // ...and the client renews it instead of failing every posting.
        let after = try await client.context()
        #expect(!after.isEmpty)
        let renewed = try #require(client.session.withLock { $0 })
        #expect(renewed.token != dead.token)
        let users = try await client.call("model.res.user.search", [[] as [Any], 0, 10, NSNull(), after])
        #expect((users as? [Any])?.isEmpty == false)
    }
}
