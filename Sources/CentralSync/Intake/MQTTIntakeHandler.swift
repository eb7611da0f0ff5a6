import MQTTClient

/// What an `MQTTIntake` does with the messages of one topic: decode each on the MQTT thread, then
/// record the decoded ones in arrival order.
///
/// Why a protocol: the MES's assignments, its answers to order releases and its confirmations are
/// three intakes with one shape (subscribe, check, record, acknowledge only what is recorded); each
/// used to carry its own copy of the MQTT plumbing, and each copy acknowledged before recording.
public protocol MQTTIntakeHandler: Sendable {
    associatedtype Item: Sendable
    /// Decodes and checks one message on the MQTT thread. nil when it is refused: the handler counts
    /// and logs why (the message is acknowledged; sending it again would be refused again).
    func decode(_ message: MQTTMessage) -> Item?
    /// Records one item. Throws only when the store failed: the intake tries again with a growing
    /// pause and acknowledges the message only once this returns.
    func take(_ item: Item) async throws
}
