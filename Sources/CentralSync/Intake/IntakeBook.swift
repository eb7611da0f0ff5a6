import MillwrightCore

/// What a topic's messages are booked into: decoded and checked into an `Item`, booked exactly
/// once (or refused with a reason), counted.
///
/// Why a protocol: the MES's confirmations and the lab's inspection results are two books with one
/// intake shape (`BookListener`); each used to carry its own copy of the listener.
public protocol IntakeBook: Sendable {
    associatedtype Item: Sendable
    /// The intake's name: in the MQTT client id and the logs.
    static var intakeName: String { get }
    static func decode(_ payload: [UInt8]) -> Result<Item, ConfirmationRefusal>
    /// Books one item; throws only when the store failed (nothing was booked then).
    func book(_ item: Item, now: Timestamp) async throws -> ConfirmationBook.Outcome
    /// Counts and logs a refusal.
    func refused(_ r: ConfirmationRefusal, id: String?, source: String?)
    var stats: ConfirmationBook.Stats { get }
}

extension ConfirmationBook: IntakeBook {
    public static let intakeName = "confirmations"
    public static func decode(_ payload: [UInt8]) -> Result<MESConfirmation, ConfirmationRefusal> { MESConfirmation.decode(payload) }
}

extension QualityBook: IntakeBook {
    public static let intakeName = "inspections"
    public static func decode(_ payload: [UInt8]) -> Result<InspectionResult, ConfirmationRefusal> { InspectionResult.decode(payload) }
}
