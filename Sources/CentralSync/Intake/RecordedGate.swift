import MQTTClient
import Synchronization

/// Holds an intake's acknowledgements until its handler recorded the messages they acknowledge
/// (see `DeliveryGate`): a central stopped or killed between an MQTT message and its record gets
/// the message again from the broker's session instead of losing it.
///
/// Why counting is enough: messages are handed to the recording task in arrival order and recorded
/// in that order, so "recorded n" means the first n handed over are recorded.
final class RecordedGate: DeliveryGate {
    struct State {
        var handedOver: UInt64 = 0
        var recorded: UInt64 = 0
        /// Sealed tickets waiting for their record, with the loop's wake for each.
        var sealed: [(ticket: UInt64, wake: @Sendable () -> Void)] = []
        /// The loop's wake while it waits for room to read (one at a time: it asks on every pass).
        var readable: (@Sendable () -> Void)?
        /// Set when the intake stops: nothing more is read, what was read is recorded first.
        var closing = false
    }

    let window: UInt64
    let state = Mutex(State())

    init(window: Int) {
        self.window = UInt64(max(1, window))
    }

    /// On the MQTT thread, for each message before it goes to the recording task.
    func handOver() {
        state.withLock { $0.handedOver += 1 }
    }

    /// After the recording task recorded (or refused) one message: wakes the loop for every
    /// ticket now covered, and when room to read opened.
    func recordedOne() {
        let wakes = state.withLock { s -> [@Sendable () -> Void] in
            s.recorded += 1
            var due: [@Sendable () -> Void] = []
            s.sealed.removeAll { entry in
                guard entry.ticket <= s.recorded else { return false }
                due.append(entry.wake)
                return true
            }
            if let r = s.readable, s.handedOver - s.recorded < window && !s.closing {
                due.append(r)
                s.readable = nil
            }
            return due
        }
        for wake in wakes { wake() }
    }

    /// Stops reading for good (the intake is stopping); `isDrained` then says when it may end.
    func close() {
        state.withLock { $0.closing = true }
    }

    /// Whether the intake may end: closing and everything handed over recorded.
    var isDrained: Bool { state.withLock { $0.closing && $0.recorded >= $0.handedOver } }

    func seal(wake: @escaping @Sendable () -> Void) -> UInt64 {
        let (ticket, done) = state.withLock { s -> (UInt64, Bool) in
            let t = s.handedOver
            if s.recorded < t { s.sealed.append((t, wake)) }
            return (t, s.recorded >= t)
        }
        if done { wake() }
        return ticket
    }

    func isDurable(_ ticket: UInt64) -> Bool { state.withLock { $0.recorded >= ticket } }

    var mayRead: Bool { state.withLock { !$0.closing && $0.handedOver - $0.recorded < window } }

    func wakeWhenReadable(_ wake: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if !s.closing && s.handedOver - s.recorded < window { return true }
            s.readable = wake
            return false
        }
        if now { wake() }
    }
}
