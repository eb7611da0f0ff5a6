import Foundation
import MillwrightCore

/// Writes each posting as `<idempotency key>.json` into a folder: a drop folder for a file-based
/// MES or planning tool. The file name is the reference, so a retry finds it instead of writing twice.
public struct FolderConnector: PostingConnector {
    public let path: String

    public init(path: String) { self.path = path }

    public func deliver(_ posting: Posting) async -> DeliveryOutcome {
        let name = posting.idempotencyKey.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }
        let file = (path as NSString).appendingPathComponent(String(name) + ".json")
        if FileManager.default.fileExists(atPath: file) { return .found(documentRef: "file:\(file)", note: "found by reference") }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            // Write then rename: a reader never sees half a file.
            let tmp = file + ".tmp"
            try Data(posting.payload.utf8).write(to: URL(fileURLWithPath: tmp))
            try FileManager.default.moveItem(atPath: tmp, toPath: file)
            return .delivered(documentRef: "file:\(file)", note: "written")
        } catch {
            return .failed("cannot write \(file): \(error)")
        }
    }
}
