/// Decides when messages handed to `onMessage` may be acknowledged to the broker.
///
/// libmosquitto queues a QoS 1 PUBACK before it calls `on_message` (lib/handle_publish.c of 2.0.11);
/// in threaded mode a queued packet is only written in the loop's write phase (lib/packet_mosq.c,
/// `packet__queue`). A client built with a gate runs its own loop and writes that queue only once the
/// gate says everything delivered so far is durable, so a broker never drops a message the application
/// has not committed. While the gate lags, the client stops reading and the broker holds the rest.
public protocol DeliveryGate: Sendable {
    /// Called on the network thread: make everything delivered so far durable. Returns a ticket;
    /// `wake` is called (from any thread) after a commit that may have covered it.
    func seal(wake: @escaping @Sendable () -> Void) -> UInt64
    /// Whether everything handed over before the ticket was issued is committed.
    func isDurable(_ ticket: UInt64) -> Bool
    /// False while the application's writer is too far behind to take more: the client stops
    /// reading (QoS 0 messages included) until it catches up.
    var mayRead: Bool { get }
    /// Called on the network thread while `mayRead` is false: `wake` is called (from any thread)
    /// once the writer may have caught up, so the loop sleeps instead of looking again every few
    /// milliseconds.
    func wakeWhenReadable(_ wake: @escaping @Sendable () -> Void)
}
