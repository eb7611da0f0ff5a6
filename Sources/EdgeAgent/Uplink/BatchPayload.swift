import EdgeConfig
import MillwrightCore

/// One uplink batch's JSON (docs/PROTOCOL.md), written as the outbox is read.
///
/// Why a type: the events are stored as the JSON the central receives, so a batch is a header, each
/// stored body copied once from SQLite's buffer (with `is_historical` flipped for old ones), and a
/// tail; no event is decoded or re-encoded on the way out.
struct BatchPayload {
    let id: String
    let now: Timestamp
    let historicalAfter: Millis
    private(set) var out: [UInt8]
    private(set) var count = 0
    private(set) var historical = 0

    init(id: String, epoch: Int64, site: String, edge: String, now: Timestamp, historicalAfter: Millis, buffer: [UInt8], capacity: Int) {
        self.id = id
        self.now = now
        self.historicalAfter = historicalAfter
        out = buffer
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(capacity)
        out += #"{"v":1,"batch":"\#(id)","epoch":\#(epoch),"site":"\#(site)","edge":"\#(edge)","sent_at":"\#(now.rfc3339)","events":["#.utf8
    }

    mutating func append(_ row: OutboxRowInfo, _ body: UnsafeRawBufferPointer) {
        if count > 0 { out.append(UInt8(ascii: ",")) }
        count += 1
        let bytes = body.assumingMemoryBound(to: UInt8.self)
        if now - row.committedAt > historicalAfter {
            historical += 1
            Self.appendMarkingHistorical(bytes, to: &out)
        } else {
            out.append(contentsOf: bytes)
        }
    }

    /// The id, the finished payload and how many events were marked historical.
    consuming func finish() -> (id: String, payload: [UInt8], historical: Int) {
        out += "]}".utf8
        return (id, out, historical)
    }

    static let notHistorical = Array(#""is_historical":false"#.utf8)
    static let historicalTrue = Array(#""is_historical":true"#.utf8)

    /// Appends the body with `"is_historical":false` flipped to true. Keys are sorted and unique,
    /// and a quote inside any value is escaped, so that text occurs exactly once.
    static func appendMarkingHistorical(_ b: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let needle = notHistorical
        var i = 0
        let last = b.count - needle.count
        while i <= last {
            if b[i] == needle[0] && b[i + 1] == needle[1] && UnsafeBufferPointer(rebasing: b[i..<(i + needle.count)]).elementsEqual(needle) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[0..<i]))
                out += historicalTrue
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[(i + needle.count)...]))
                return
            }
            i += 1
        }
        out.append(contentsOf: b)
    }
}
