import MillwrightCore

/// The timing tier for confirmations: post every N minutes of event time, or every N units.
public enum Cadence: Sendable, Hashable {
    /// One declaration per bucket of event time, once the bucket is over and its grace has passed.
    case every(Millis)
    /// One declaration whenever N units are owed, and the remainder when the order leaves the equipment.
    case quantity(Double)

    /// The bucket an event time falls into (0 in the quantity tier: one running line per order).
    public func bucket(of t: Timestamp) -> Int64 {
        switch self {
        case .every(let m): return t.milliseconds - ((t.milliseconds % m.value) + m.value) % m.value
        case .quantity: return 0
        }
    }

    func bucketEnd(_ bucket: Int64) -> Timestamp? {
        switch self {
        case .every(let m): return Timestamp(milliseconds: bucket + m.value)
        case .quantity: return nil
        }
    }
}
