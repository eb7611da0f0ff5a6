import CentralIngest
import MillwrightCore

extension CentralStore {
    /// Validates one uplink batch (protocol v1, as published on `topic`) and stores it, exactly as
    /// the MQTT ingest does. Returns how many events were new and how many were duplicates; a
    /// refused batch is kept raw and thrown back with its reason.
    @discardableResult
    public func ingest(topic: String, payload: [UInt8], now: Timestamp = .now(), maxBatchBytes: Int = 16 << 20) throws -> (inserted: Int, duplicates: Int) {
        switch BatchDecoder.decode(topic: topic, payload: payload, maxBytes: maxBatchBytes) {
        case .success(let batch):
            return try commit([batch], rejected: [], now: now)[0]
        case .failure(let refused):
            _ = try commit([], rejected: [refused], now: now)
            throw refused
        }
    }
}
