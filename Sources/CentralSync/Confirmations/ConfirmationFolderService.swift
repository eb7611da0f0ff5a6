import Foundation
import Logging
import MillwrightCore
import ServiceLifecycle

/// Takes confirmations a legacy MES drops as files into `mes.confirmation_folder` (CSV or JSON,
/// `ConfirmationFile`): every `confirmation_folder_every` each file is read, each record booked
/// (`ConfirmationBook`) or refused with its line and reason, and the file moved to `processed/`
/// beside a `<name>.result.json` saying what became of every record (or to `failed/` when the file
/// cannot be read at all). A file dropped again books nothing: its ids are already booked.
///
/// Why moved only after every record is decided: a store failure leaves the file where it is, to
/// be read again on the next look; what it booked before is then counted as a duplicate. With
/// replicas only the holder of the lease looks at the folder. Files whose name starts with "." or
/// ends in ".tmp" or ".part" are left alone: a writer renames its file into place when complete.
public final class ConfirmationFolderService: Service {
    let folder: URL
    let every: Millis
    public let book: ConfirmationBook
    let keeper: LeaseKeeper?
    let logger: Logger

    public init(folder: String, every: Millis, book: ConfirmationBook, keeper: LeaseKeeper? = nil, logger: Logger) {
        self.folder = URL(fileURLWithPath: folder)
        self.every = every
        self.book = book
        self.keeper = keeper
        self.logger = logger
    }

    /// What became of one record of a file.
    public struct RecordResult: Codable, Sendable, Hashable {
        public var line: Int
        public var id: String?
        /// `booked`, `duplicate` or `refused`.
        public var outcome: String
        public var reason: String?
        public var postings: [String]?

        public init(line: Int, id: String? = nil, outcome: String, reason: String? = nil, postings: [String]? = nil) {
            self.line = line
            self.id = id
            self.outcome = outcome
            self.reason = reason
            self.postings = postings
        }
    }

    /// The `<name>.result.json` written beside a processed file.
    public struct FileResult: Codable, Sendable, Hashable {
        public var file: String
        public var processedAt: Timestamp
        public var movedTo: String
        public var booked: Int
        public var duplicates: Int
        public var refused: Int
        /// Why the file as a whole could not be read (moved to `failed/`).
        public var error: String?
        public var records: [RecordResult]

        enum CodingKeys: String, CodingKey {
            case file, booked, duplicates, refused, error, records
            case processedAt = "processed_at", movedTo = "moved_to"
        }
    }

    public func run() async throws {
        await keeper?.started()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if let keeper {
                    _ = try await keeper.underLease("confirmation-folder") { _ = try await self.scanOnce() }
                } else {
                    _ = try await scanOnce()
                }
            } catch {
                logger.error("cannot take the confirmation folder's files now; looking again later",
                             metadata: ["folder": "\(folder.path)", "error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.every.duration) }
        }
    }

    /// Looks at the folder once: every complete file is processed and moved. Throws when the
    /// folder cannot be listed or the store fails (the file in hand stays for the next look).
    @discardableResult
    public func scanOnce(now: Timestamp = .now()) async throws -> [FileResult] {
        let fm = FileManager.default
        for sub in ["processed", "failed"] {
            try fm.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let names = try fm.contentsOfDirectory(atPath: folder.path).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && !name.hasSuffix(".tmp") && !name.hasSuffix(".part")
                && ConfirmationFile.Format(fileName: name) != nil
                && fm.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
        var results: [FileResult] = []
        for name in names {
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            results.append(try await process(name, now: now))
        }
        return results
    }

    func process(_ name: String, now: Timestamp) async throws -> FileResult {
        let file = folder.appendingPathComponent(name)
        var result = FileResult(file: name, processedAt: now, movedTo: "", booked: 0, duplicates: 0, refused: 0, error: nil, records: [])
        let records: [ConfirmationFile.Record]
        do {
            let data = try Data(contentsOf: file)
            records = try ConfirmationFile.records(data, format: ConfirmationFile.Format(fileName: name) ?? .json)
        } catch {
            result.error = "\(error)"
            logger.warning("confirmation file unreadable: moved to failed/", metadata: ["file": "\(name)", "error": "\(error)"])
            try finish(file, &result, into: "failed")
            return result
        }
        for r in records {
            switch r.result {
            case .failure(let refusal):
                book.refused(refusal, id: nil, source: "\(name) line \(r.line)")
                result.refused += 1
                result.records.append(RecordResult(line: r.line, outcome: "refused", reason: "\(refusal)"))
            case .success(let c):
                switch try await book.book(c, now: now) {
                case .booked(let keys):
                    result.booked += 1
                    result.records.append(RecordResult(line: r.line, id: c.id, outcome: "booked", postings: keys))
                case .duplicate:
                    result.duplicates += 1
                    result.records.append(RecordResult(line: r.line, id: c.id, outcome: "duplicate"))
                case .refused(let refusal):
                    result.refused += 1
                    result.records.append(RecordResult(line: r.line, id: c.id, outcome: "refused", reason: "\(refusal)"))
                }
            }
        }
        try finish(file, &result, into: "processed")
        logger.info("confirmation file processed", metadata: [
            "file": "\(name)", "booked": "\(result.booked)", "duplicates": "\(result.duplicates)", "refused": "\(result.refused)"])
        return result
    }

    /// Writes the result beside the file's new place, then moves the file there (a name already
    /// taken, by an earlier drop of the same file, gets the time appended).
    func finish(_ file: URL, _ result: inout FileResult, into sub: String) throws {
        let fm = FileManager.default
        var target = folder.appendingPathComponent(sub).appendingPathComponent(file.lastPathComponent)
        if fm.fileExists(atPath: target.path) {
            target = folder.appendingPathComponent(sub).appendingPathComponent("\(result.processedAt.milliseconds)-\(file.lastPathComponent)")
        }
        result.movedTo = "\(sub)/\(target.lastPathComponent)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(result).write(to: URL(fileURLWithPath: target.path + ".result.json"), options: .atomic)
        try fm.moveItem(at: file, to: target)
    }
}
