/// The store failed while an intake recorded a message: `MQTTIntake` tries again.
///
/// Why its own type: a handler that reports its outcome as a value (a release answer's refusal)
/// turns only this case into a throw, so a refusal is never retried and a store failure always is.
public struct IntakeStoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
