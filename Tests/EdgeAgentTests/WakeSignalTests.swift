import MillwrightCore
import Testing

/// The wake-up the edge's writer and uplink wait on instead of polling: a signal wakes the waiter
/// (or the next wait, if it came first), a wait without one ends at its timeout, and a cancelled
/// wait ends at once (a service's shutdown must not wait out a timeout). The waits that must end
/// early have an hour's timeout and must end within half of it: on a loaded 2-core machine the
/// test process's threads can be busy with other suites for a minute and more.
@Suite struct WakeSignalTests {
    @Test func aSignalBeforeTheWaitIsKeptOnceAndNotTwice() async {
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        #expect(await signal.wait(timeout: .seconds(60)), "a signal given before the wait ends it")
        let start = ContinuousClock.now
        #expect(!(await signal.wait(timeout: .milliseconds(200))), "two signals before one wait wake it once")
        #expect(ContinuousClock.now - start >= .milliseconds(200), "a wait without a signal lasts its timeout")
    }

    @Test func aSignalWakesTheWaiterLongBeforeItsTimeout() async {
        let signal = WakeSignal()
        let start = ContinuousClock.now
        let ringer = Task {
            try? await Task.sleep(for: .milliseconds(100))
            signal.signal()
        }
        #expect(await signal.wait(timeout: .seconds(3600)), "woken by the signal (true), not the timeout (false)")
        #expect(ContinuousClock.now - start < .seconds(1800))
        await ringer.value
    }

    @Test func aCancelledWaitEndsAtOnce() async {
        let signal = WakeSignal()
        let start = ContinuousClock.now
        let waiter = Task { await signal.wait(timeout: .seconds(3600)) }
        try? await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        #expect(!(await waiter.value), "cancelled, not signalled")
        #expect(ContinuousClock.now - start < .seconds(1800), "ended by the cancellation, not the timeout")
        // A signal after the cancelled wait is kept for the next one.
        signal.signal()
        #expect(await signal.wait(timeout: .seconds(60)))
    }
}
