@testable import CentralSync
import Synchronization
import Testing

/// The gate an MQTT intake acknowledges through (`RecordedGate`): a sealed ticket's wake comes once
/// the messages it covers are recorded, not at the first record; reading pauses at the window and
/// resumes with a wake; a closing gate reads nothing more and is drained once all is recorded.
@Suite struct RecordedGateTests {
    @Test func aTicketWakesOnceEverythingItCoversIsRecorded() {
        let gate = RecordedGate(window: 2)
        let wakes = Mutex(0)
        for _ in 0..<3 { gate.handOver() }
        #expect(!gate.mayRead, "three handed over, window two")
        gate.wakeWhenReadable { wakes.withLock { $0 += 10 } }
        let ticket = gate.seal { wakes.withLock { $0 += 1 } }
        #expect(ticket == 3 && !gate.isDurable(ticket))
        gate.recordedOne()
        #expect(wakes.withLock { $0 } == 0, "one of three recorded: no wake yet, and still no room")
        gate.recordedOne()
        #expect(wakes.withLock { $0 } == 10, "room to read again")
        gate.recordedOne()
        #expect(wakes.withLock { $0 } == 11 && gate.isDurable(ticket))
        // Sealing with nothing pending wakes at once.
        let now = gate.seal { wakes.withLock { $0 += 100 } }
        #expect(now == 3 && wakes.withLock { $0 } == 111)
    }

    @Test func aClosingGateReadsNothingAndDrains() {
        let gate = RecordedGate(window: 10)
        gate.handOver()
        gate.close()
        #expect(!gate.mayRead && !gate.isDrained)
        gate.recordedOne()
        #expect(gate.isDrained)
    }
}
