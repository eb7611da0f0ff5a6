/// How long something took over many samples: count, median and longest, in seconds.
///
/// Why its own type: release latency (ERP release to MES acceptance) and confirmation latency
/// (booking to ERP acknowledgement) are read the same way in `status` and its JSON.
public struct LatencySummary: Sendable, Hashable, Codable {
    public var count: Int
    public var medianS: Double
    public var maxS: Double

    public init(count: Int, medianS: Double, maxS: Double) {
        self.count = count
        self.medianS = medianS
        self.maxS = maxS
    }

    /// Nil for no samples.
    public static func of(_ seconds: [Double]) -> LatencySummary? {
        guard !seconds.isEmpty else { return nil }
        let sorted = seconds.sorted()
        return LatencySummary(count: sorted.count, medianS: sorted[sorted.count / 2], maxS: sorted[sorted.count - 1])
    }
}
