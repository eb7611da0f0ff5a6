@testable import CentralSync
import CentralSQLite
import MillwrightCore
import Testing

@Suite struct DispatcherPolicyTests {
    @Test func theBreakerOpensAfterTheThresholdProbesHalfOpenAndClosesOnSuccess() {
        var b = CircuitBreaker(threshold: 3, openFor: .seconds(10))
        let t0 = Timestamp(milliseconds: 1_000_000)
        b.failed(at: t0)
        b.failed(at: t0)
        #expect(b.state(at: t0) == .closed && b.allows(at: t0))
        b.failed(at: t0)
        #expect(b.state(at: t0 + .seconds(5)) == .open && !b.allows(at: t0 + .seconds(5)))
        #expect(b.state(at: t0 + .seconds(10)) == .halfOpen && b.allows(at: t0 + .seconds(10)))
        // A failed probe opens it again for a full period.
        b.failed(at: t0 + .seconds(10))
        #expect(!b.allows(at: t0 + .seconds(15)))
        b.succeeded()
        #expect(b.state(at: t0 + .seconds(15)) == .closed)
    }

    @Test func backoffGrowsExponentiallyWithJitterAndIsCapped() throws {
        let central = try CentralStoreFixture.make()
        var policy = SyncConfiguration.Policy()
        policy.initialBackoff = .seconds(1)
        policy.maximumBackoff = .seconds(30)
        let d = PostingDispatcher(store: SQLiteSyncState(try SyncStore(central: central)), connectors: [:], policy: policy, logger: .init(label: "t"))
        for attempt in 1...10 {
            let step = min(30_000, 1000 << (attempt - 1))
            for _ in 0..<20 {
                let b = d.backoff(attempts: attempt).value
                #expect(b >= Int64(step / 2) && b <= Int64(step))
            }
        }
    }
}
