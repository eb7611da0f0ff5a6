/// The check every text field from the MES passes before it reaches a store: not empty, at most
/// `max` characters, no control characters (PostgreSQL refuses a NUL in text, which would make
/// the message fail to record every time).
///
/// Why one place: the intakes' decoders (assignments, answers, confirmations) share the rule.
public enum IntakeText {
    public static func isAcceptable(_ s: String, max: Int, allowEmpty: Bool = false) -> Bool {
        (allowEmpty || !s.isEmpty) && s.count <= max && !s.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
