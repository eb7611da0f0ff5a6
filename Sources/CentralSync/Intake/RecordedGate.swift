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
        var wakes: [@Sendable () -> Void] = []
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

    /// After the recording task recorded (or refused) one message.
    func recordedOne() {
        let wakes = state.withLock { s -> [@Sendable () -> Void] in
            s.recorded += 1
            defer { s.wakes.removeAll() }
            return s.wakes
        }
        for wake in wakes { wake() }
    }

    func seal(wake: @escaping @Sendable () -> Void) -> UInt64 {
        let (ticket, done) = state.withLock { s -> (UInt64, Bool) in
            if s.recorded < s.handedOver { s.wakes.append(wake) }
            return (s.handedOver, s.recorded >= s.handedOver)
        }
        if done { wake() }
        return ticket
    }

    func isDurable(_ ticket: UInt64) -> Bool { state.withLock { $0.recorded >= ticket } }

    var mayRead: Bool { state.withLock { $0.handedOver - $0.recorded < window } }

    func wakeWhenReadable(_ wake: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.handedOver - s.recorded < window { return true }
            s.wakes.append(wake)
            return false
        }
        if now { wake() }
    }
}
