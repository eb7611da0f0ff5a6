/// A `Duration` as fractional seconds.
///
/// Why: rates and elapsed times are printed and computed in seconds (the uplink's drain bucket,
/// `migrate-store`'s summary, the bench drivers); the standard library has no such conversion.
extension Duration {
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
