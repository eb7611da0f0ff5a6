import Foundation
import MillwrightCore

/// The files deleted events go to first: `<dir>/<site>/<yyyy-mm-dd>.jsonl.gz`, one JSON object per
/// line and per event, gzip'd, by the event's UTC day. Each retention chunk appends a gzip member
/// and syncs the file before the events are deleted; `zcat`, `jq` and `archive load` read them.
///
/// Why JSON lines: an analyst reads them with the tools at hand, and `body` is the envelope text
/// exactly as stored (a JSON string: `jq '.body | fromjson'`), so a loaded event is byte for byte
/// the one deleted. A crash after the sync and before the delete archives those events again on
/// the next run: an event may be in an archive twice (the loader stores it once).
public struct EventArchive: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// One line of an archive file.
    struct Line: Codable {
        var edge: String
        var bootEpoch: Int64
        var seq: Int64
        var eventID: String
        var site: String
        var equipment: String
        var signal: String
        var type: String
        var priority: Int
        var occurredAtMs: Int64
        var edgeReceivedAtMs: Int64
        var centralReceivedAtMs: Int64
        var isHistorical: Bool
        var body: String

        enum CodingKeys: String, CodingKey {
            case edge, seq, site, equipment, signal, type, priority, body
            case bootEpoch = "boot_epoch"
            case eventID = "event_id"
            case occurredAtMs = "occurred_at_ms"
            case edgeReceivedAtMs = "edge_received_at_ms"
            case centralReceivedAtMs = "central_received_at_ms"
            case isHistorical = "is_historical"
        }
    }

    /// A site as a directory name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
    static func pathSafe(_ site: String) -> String {
        let s = String(site.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
        return s.isEmpty || s.allSatisfy({ $0 == "." }) ? "_" : s
    }

    /// The file an event goes to.
    public func file(site: String, day: String) -> String {
        ((directory as NSString).appendingPathComponent(Self.pathSafe(site)) as NSString).appendingPathComponent("\(day).jsonl.gz")
    }

    /// Appends `events` to their files (a member per file) and syncs each; returns the files written.
    @discardableResult
    public func append(_ events: [EventRow]) throws -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var byFile: [String: Data] = [:]
        for e in events {
            let day = String(e.occurredAt.rfc3339.prefix(10))
            var line = try encoder.encode(Line(edge: e.edge, bootEpoch: e.bootEpoch, seq: e.seq, eventID: e.eventID, site: e.site,
                                               equipment: e.equipment, signal: e.signal, type: e.type, priority: e.priority,
                                               occurredAtMs: e.occurredAt.milliseconds, edgeReceivedAtMs: e.edgeReceivedAt.milliseconds,
                                               centralReceivedAtMs: e.centralReceivedAt.milliseconds, isHistorical: e.isHistorical, body: e.body))
            line.append(0x0A)
            byFile[file(site: e.site, day: day), default: Data()].append(line)
        }
        for (path, lines) in byFile.sorted(by: { $0.key < $1.key }) {
            let dir = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let member = try Gzip.compress(lines)
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
            guard fd >= 0 else { throw ArchiveError(path: path, detail: String(cString: strerror(errno))) }
            defer { close(fd) }
            try member.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw ArchiveError(path: path, detail: String(cString: strerror(errno)))
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw ArchiveError(path: path, detail: "fsync: \(String(cString: strerror(errno)))") }
            // The directory entry of a new file, too.
            let dfd = open(dir, O_RDONLY)
            if dfd >= 0 {
                _ = fsync(dfd)
                close(dfd)
            }
        }
        return byFile.keys.sorted()
    }

    /// Every event in an archive file, in file order (duplicates as they are).
    public static func read(file path: String) throws -> [EventRow] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ArchiveError(path: path, detail: "cannot read it") }
        let text: Data
        do { text = try Gzip.decompress(data) } catch { throw ArchiveError(path: path, detail: "\(error)") }
        let decoder = JSONDecoder()
        var out: [EventRow] = []
        var lineNumber = 0
        for slice in text.split(separator: 0x0A, omittingEmptySubsequences: true) {
            lineNumber += 1
            let l: Line
            do { l = try decoder.decode(Line.self, from: Data(slice)) } catch {
                throw ArchiveError(path: path, detail: "line \(lineNumber) is not an archived event: \(error)")
            }
            out.append(EventRow(row: 0, position: .start, edge: l.edge, bootEpoch: l.bootEpoch, seq: l.seq, eventID: l.eventID, site: l.site,
                                   equipment: l.equipment, signal: l.signal, type: l.type, priority: l.priority,
                                   occurredAt: Timestamp(milliseconds: l.occurredAtMs), edgeReceivedAt: Timestamp(milliseconds: l.edgeReceivedAtMs),
                                   centralReceivedAt: Timestamp(milliseconds: l.centralReceivedAtMs), isHistorical: l.isHistorical, body: l.body))
        }
        return out
    }

    public struct ArchiveError: Error, CustomStringConvertible {
        public var path: String
        public var detail: String
        public var description: String { "archive \(path): \(detail)" }
    }
}
