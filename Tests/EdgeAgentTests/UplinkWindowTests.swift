import EdgeConfig
import Testing
@testable import EdgeAgent

/// The adaptive uplink window against models of a central: one whose rate rises with the window
/// up to a knee (a pipeline waiting on acks) and only queues past it, and a fleet's shared central
/// where a larger window always wins a larger share while everyone's acks wait longer. The window
/// must grow while acks are fast, settle near its latency target (not short of it, not past it),
/// never pass `max_inflight_batches`, and stay put for a stream that never fills it.
@Suite struct UplinkWindowTests {
    /// The window's path through `seconds` of a window-limited drain: per ack, the size then and
    /// the ack's latency. `model(size)` gives batches acknowledged per second and their latency.
    func drain(_ w: inout UplinkWindow, seconds: Double,
               model: (Int) -> (perSecond: Double, latency: Double)) -> [(t: Double, size: Int, latency: Double)] {
        var t = 0.0
        var path: [(t: Double, size: Int, latency: Double)] = []
        while t < seconds {
            let (rate, latency) = model(w.size)
            w.full()
            t += 1 / rate
            path.append((t, w.size, latency))
            w.acked(batchEpoch: w.epoch, latency: .seconds(latency))
        }
        return path
    }

    /// A central that commits 40 batches a second once 24 are in flight, and proportionally less
    /// below (it waits on the edge); past 24 the rest only queues, so latency grows with the window.
    static func knee(_ size: Int) -> (perSecond: Double, latency: Double) {
        let rate = 40 * min(1, Double(size) / 24)
        return (rate, Double(size) / rate)
    }

    @Test func growsWhileAcksAreFastUpToTheCeiling() {
        var w = UplinkWindow(mode: .adaptive, cap: 64, latencyTarget: .milliseconds(2500))
        #expect(w.size == 2)
        let path = drain(&w, seconds: 60, model: Self.knee)
        #expect(w.size == 64)
        #expect(path.allSatisfy { $0.size <= 64 }, "never past max_inflight_batches")
        #expect(w.changes.shrunkForLatency == 0)
        // Twice as large per round while far below the target: 2, 4, 8, 16, 32, 64 (the knee's
        // latency is 0.6 s up to 24 batches, 0.8 s at 32).
        #expect(w.changes.grown == 5)
    }

    /// The same central with a 1 s target: the window settles where acks take about 1 s (40
    /// batches), not at the start and not past the target.
    @Test func aSingleCentralSettlesAtTheTargetLatency() {
        var w = UplinkWindow(mode: .adaptive, cap: 1000, latencyTarget: .seconds(1))
        let path = drain(&w, seconds: 300, model: Self.knee)
        let settled = path.filter { $0.t > 100 }
        let meanLatency = settled.map(\.latency).reduce(0, +) / Double(settled.count)
        let meanSize = Double(settled.map(\.size).reduce(0, +)) / Double(settled.count)
        #expect(meanLatency <= 1.05, "mean ack latency \(meanLatency) s, target 1 s")
        #expect(meanSize >= 34 && meanSize <= 41, "mean window \(meanSize), 40 at the target")
        #expect(w.changes.shrunkForLatency >= 1)
    }

    /// 100 batches a second shared with other edges holding 200 batches: a larger window always
    /// wins a larger share, so only the latency target stops it (at 2.5 s: 50 batches).
    @Test func aSharedCentralIsBoundedByTheLatencyTarget() {
        var w = UplinkWindow(mode: .adaptive, cap: 1000, latencyTarget: .milliseconds(2500))
        let path = drain(&w, seconds: 600) { size in
            let queued = Double(size + 200)
            return (100 * Double(size) / queued, queued / 100)
        }
        let settled = path.filter { $0.t > 300 }
        let meanLatency = settled.map(\.latency).reduce(0, +) / Double(settled.count)
        #expect(meanLatency < 2.5 * 1.05, "mean ack latency \(meanLatency) s, target 2.5 s")
        #expect(settled.allSatisfy { $0.size <= 52 }, "sizes \(Set(settled.map(\.size)).sorted())")
        #expect(w.changes.shrunkForLatency >= 1)
    }

    @Test func aStreamThatNeverFillsTheWindowLeavesItAlone() {
        var w = UplinkWindow(mode: .adaptive, cap: 64, latencyTarget: .milliseconds(2500))
        for _ in 1...2000 {
            w.acked(batchEpoch: w.epoch, latency: .milliseconds(20))
        }
        #expect(w.size == 2)
        #expect(w.changes == .init())
    }

    @Test func aTimeoutHalvesAndAReconnectStartsSmallAgain() {
        var w = UplinkWindow(mode: .adaptive, cap: 64, latencyTarget: .milliseconds(2500))
        _ = drain(&w, seconds: 60, model: Self.knee)
        #expect(w.size == 64)
        w.timedOut()
        #expect(w.size == 32)
        #expect(w.changes.halvedOnTimeout == 1)
        w.restart()
        #expect(w.size == 2)
        let epoch = w.epoch
        // Acks of batches sent under an earlier size do not measure this one.
        for _ in 1...100 {
            w.full()
            w.acked(batchEpoch: epoch - 1, latency: .seconds(9))
        }
        #expect(w.size == 2 && w.epoch == epoch)
    }

    @Test func fixedModeIsAlwaysTheCeiling() {
        var w = UplinkWindow(mode: .fixed, cap: 16, latencyTarget: .milliseconds(2500))
        #expect(w.size == 16)
        _ = drain(&w, seconds: 30) { _ in (10, 9) }
        w.timedOut()
        w.restart()
        #expect(w.size == 16)
        #expect(w.changes == .init())
    }

    @Test func aCeilingBelowTheStartIsTheStart() {
        var w = UplinkWindow(mode: .adaptive, cap: 1, latencyTarget: .milliseconds(2500))
        #expect(w.size == 1)
        _ = drain(&w, seconds: 10, model: Self.knee)
        w.restart()
        #expect(w.size == 1)
    }
}
