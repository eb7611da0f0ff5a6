import MillwrightCore

extension IngestStore {
    /// Validates one uplink batch (protocol v1, as published on `topic`) and stores it, exactly as
    /// the MQTT ingest does, on any backend. A refused batch is kept raw and thrown back with its reason.
    @discardableResult
    public func ingest(topic: String, payload: [UInt8], now: Timestamp = .now(), maxBatchBytes: Int = 16 << 20) async throws -> IngestOutcome {
        switch BatchDecoder.decode(topic: topic, payload: payload, maxBytes: maxBatchBytes) {
        case .success(let batch):
            return try await commit([batch], rejected: [], now: now)[0]
        case .failure(let refused):
            _ = try await commit([], rejected: [refused], now: now)
            throw refused
        }
    }
}
