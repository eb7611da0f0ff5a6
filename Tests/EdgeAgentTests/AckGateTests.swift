import MillwrightCore
import Testing
@testable import EdgeAgent

/// What an ack may delete: only inside the ranges of a batch this run sent, in this run's epoch,
/// once. Every other ack deletes nothing and says why.
@Suite struct AckGateTests {
    let carried = [SeqRange(101, 150), SeqRange(160, 160)]

    @Test func anAckOfTheBatchInFlightDeletesWhatItNames() {
        var gate = AckGate(epoch: 7)
        let ack = UplinkAck(batch: "7-a-1", epoch: 7, committed: carried)
        #expect(gate.judge(ack, inflight: carried) == .accept(delete: carried, rejected: 0))
        // A second one (a repeat, or a replay of the first) deletes nothing.
        #expect(gate.judge(ack, inflight: nil) == .ignore(.alreadyAcknowledged))
    }

    @Test func aForgedAckDeletesNothing() {
        var gate = AckGate(epoch: 7)
        for ack in [UplinkAck(batch: "forged-1", committed: [SeqRange(1, 1_000_000_000)]),
                    UplinkAck(batch: "forged-2", committed: [], rejected: [SeqRange(1, 1_000_000_000)], reason: "x"),
                    UplinkAck(batch: "forged-3", committed: [], batchRefused: true)] {
            #expect(gate.judge(ack, inflight: nil) == .ignore(.unknownBatch))
        }
    }

    @Test func anAckOfAnotherEpochDeletesNothingEvenForABatchInFlight() {
        var gate = AckGate(epoch: 7)
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 6, committed: carried), inflight: carried) == .ignore(.otherEpoch))
        // A central of release 2 names no epoch: the batch in flight is the check.
        #expect(gate.judge(UplinkAck(batch: "7-a-1", committed: carried), inflight: carried) == .accept(delete: carried, rejected: 0))
    }

    @Test func rangesBeyondTheBatchDeleteNothing() {
        var gate = AckGate(epoch: 7)
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: [SeqRange(101, 151)]), inflight: carried) == .ignore(.outsideBatch))
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: [], rejected: [SeqRange(1, 1_000)]), inflight: carried)
                == .ignore(.outsideBatch))
        // The batch is still awaited: the genuine ack still counts.
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: [SeqRange(101, 120)], rejected: [SeqRange(121, 150), SeqRange(160, 160)]),
                           inflight: carried) == .accept(delete: [SeqRange(101, 120), SeqRange(121, 150), SeqRange(160, 160)], rejected: 31))
    }

    @Test func aRefusalByBatchIdLetsGoOfExactlyWhatThatBatchCarried() {
        var gate = AckGate(epoch: 7)
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: [], batchRefused: true), inflight: carried)
                == .accept(delete: carried, rejected: 51))
    }

    @Test func aLateAckOfAResentBatchStillCountsWithinItsRanges() {
        var gate = AckGate(epoch: 7)
        gate.supersede(["7-a-1": carried])
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: [SeqRange(1, 200)]), inflight: nil) == .ignore(.outsideBatch))
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: carried), inflight: nil) == .accept(delete: carried, rejected: 0))
        #expect(gate.judge(UplinkAck(batch: "7-a-1", epoch: 7, committed: carried), inflight: nil) == .ignore(.alreadyAcknowledged))
    }

    @Test func resentBatchesAreRememberedWithinABound() {
        var gate = AckGate(epoch: 7)
        for i in 0..<(AckGate.remembered + 10) { gate.supersede(["b-\(i)": [SeqRange(Int64(i) + 1, Int64(i) + 1)]]) }
        #expect(gate.judge(UplinkAck(batch: "b-0", committed: [SeqRange(1, 1)]), inflight: nil) == .ignore(.unknownBatch))
        let last = AckGate.remembered + 9
        #expect(gate.judge(UplinkAck(batch: "b-\(last)", committed: [SeqRange(Int64(last) + 1, Int64(last) + 1)]), inflight: nil)
                == .accept(delete: [SeqRange(Int64(last) + 1, Int64(last) + 1)], rejected: 0))
    }

    /// A resent batch the central refused for its size (handled by the uplink: smaller batches) is
    /// forgotten: its refusal, and any later ack of it, lets nothing go (a CI run lost 20 events
    /// when the late refusal of a resent batch deleted what it carried).
    @Test func aResentBatchRefusedForItsSizeIsForgottenNotLetGo() {
        var gate = AckGate(epoch: 7)
        gate.supersede(["7-a-2": carried])
        #expect(gate.resent("7-a-2") == carried)
        gate.forget("7-a-2")
        #expect(gate.resent("7-a-2") == nil)
        #expect(gate.judge(UplinkAck(batch: "7-a-2", epoch: 7, committed: [], batchRefused: true, maxBatchBytes: 4096), inflight: nil)
                == .ignore(.alreadyAcknowledged))
    }
}
