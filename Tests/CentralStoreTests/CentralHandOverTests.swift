import CentralIngest
import CentralPostgres
import CentralSync
import Foundation
import MillwrightCore
import TestSupport
import Testing

/// A replica stopped cleanly (SIGTERM: a rolling upgrade, a scale-down, a node drain) hands its work
/// to the survivor at once: the sync-jobs lease and the posting claims it has not started, instead
/// of after their time to live (60 s and 5 minutes here). Real replica processes on one PostgreSQL,
/// delivering to a slow HTTP target that records each posting's key.
@Suite("Central replicas: a clean stop hands over", .serialized)
struct CentralHandOverTests {
    /// An HTTP target that takes `delay` per request and appends each Idempotency-Key to a file.
    static let slowTarget = """
        import http.server, sys, time
        keys, port_file, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                with open(keys, "a") as f:
                    f.write(self.headers.get("Idempotency-Key", "-") + "\\n")
                self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
                self.wfile.write(b"{}")
            def log_message(self, *a): pass
        s = http.server.HTTPServer(("127.0.0.1", 0), H)
        open(port_file + ".tmp", "w").write(str(s.server_port)); __import__("os").rename(port_file + ".tmp", port_file)
        s.serve_forever()
        """

    @Test func aCleanStopHandsTheLeaseAndUnstartedClaimsToTheSurvivorAtOnce() async throws {
        let broker = try MosquittoBroker()
        let postgres = try PostgresServer.shared()
        let database = try postgres.createDatabase()
        let dir = try TemporaryDirectory.make(prefix: "handover")
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = dir.appendingPathComponent("keys").path, portFile = dir.appendingPathComponent("port").path
        let target = try ChildProcess(Python.executable, ["-c", Self.slowTarget, keys, portFile, "0.25"],
                                      outputFile: dir.appendingPathComponent("target.log").path)
        defer { target.terminate(grace: 1) }
        #expect(await eventuallyAsync(timeout: 30) { FileManager.default.fileExists(atPath: portFile) })
        let port = try String(contentsOfFile: portFile, encoding: .utf8)
        func replica(_ name: String) throws -> CentralProcess {
            try CentralProcess(brokerPort: broker.port, clientID: name, extra: """
                ingest: { shared_subscription: centrals }
                \(postgres.storeYAML(database: database))
                  lease_ttl: 60s
                targets:
                  cmms: { kind: http, url: "http://127.0.0.1:\(port)/n", template: '{"n": 1}' }
                routes: { maintenance_notification: cmms }
                postings: { timeout: 5s }
                """)
        }
        let a = try replica("central-a"), b = try replica("central-b")
        defer { a.stop(); b.stop() }
        try a.start()
        let observer = PostgresSyncState(try await PostgresDatabase(settings: StoreSettings.PostgreSQL(
            port: postgres.port, database: database, connections: 1, tls: .disable), logger: StoreBackend.logger), holder: "observer")
        defer { observer.database.close() }
        func holds(_ p: CentralProcess) -> (String) -> Bool { { $0.hasSuffix("/\(p.process?.pid ?? -1)") } }
        func lease() async throws -> Lease? { try await observer.leases().first { $0.name == LeaseKeeper.syncJobs } }
        // `a` alone: it takes the lease, and claims all 40 postings (one round claims up to 200).
        #expect(try await firstValue { try await lease().flatMap { holds(a)($0.holder) ? $0 : nil } } != nil, "a holds the lease")
        let n = 40
        try await observer.apply(postings: (1...n).map {
            NewPosting(idempotencyKey: "maintenance_notification:gw-1:1:\($0)", target: "cmms", kind: .maintenanceNotification,
                       payload: #"{"n":\#($0)}"#, sources: ["gw-1:1:\($0)"])
        }, now: .now())
        let claimedByA = try await firstValue { () async throws -> PostingClaims? in
            try await observer.claims().first { holds(a)($0.holder) && $0.active > 10 }
        }
        #expect(claimedByA != nil, "a claimed the postings")
        try b.start()
        func delivered() -> [String] {
            ((try? String(contentsOfFile: keys, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        #expect(eventually(timeout: 60) { delivered().count >= 3 }, "a delivers")
        // While `a` runs, `b` gets none of them.
        #expect(try await observer.claims().allSatisfy { !holds(b)($0.holder) })

        let stoppedAt = ContinuousClock.now
        a.process?.signal(SIGTERM)
        #expect(a.process?.wait(timeout: 30) == 0, "a exits 0 after handing over; log:\n\(a.log.suffix(2000))")
        #expect(a.log.contains("released posting claims at stop"), "\(a.log.suffix(2000))")
        // `b` takes the rest at once (its claims, then deliveries), not after store.claim_ttl (5 min) ...
        let takenByB = try await firstValue { () async throws -> PostingClaims? in
            try await observer.claims().first { holds(b)($0.holder) && $0.active > 0 }
        }
        let claimsAfter = ContinuousClock.now - stoppedAt
        #expect(takenByB != nil && claimsAfter < .seconds(15), "b claimed the rest \(claimsAfter) after the SIGTERM")
        // ... and the lease, not after its 60 s time to live or b's next renewal (20 s).
        let leaseOfB = try await firstValue { try await lease().flatMap { holds(b)($0.holder) && $0.expiresAt > .now() ? $0 : nil } }
        let leaseAfter = ContinuousClock.now - stoppedAt
        #expect(leaseOfB != nil && leaseAfter < .seconds(15), "b took the lease \(leaseAfter) after the SIGTERM; log of b:\n\(b.log.suffix(2000))")
        // Every posting delivered exactly once between them.
        #expect(eventually(timeout: 120) { delivered().count >= n }, "delivered \(delivered().count) of \(n)")
        let acked = try await firstValue { () async throws -> Int? in
            let c = try await observer.postings(status: .acked).count
            return c == n ? c : nil
        }
        #expect(acked == n)
        let sent = delivered()
        #expect(sent.count == n && Set(sent).count == n, "each key once at the target: \(sent.count) requests, \(Set(sent).count) keys")
        // `status` names both replicas as the broker sees them: b online, a gone after a clean stop.
        let status = try Executables.run(CentralProcess.binary, ["status", "--config", b.configPath], withStderr: true).output
        #expect(status.contains("1 online: central-b") && status.contains("gone: central-a (stopped"), "\(status)")
    }
}
