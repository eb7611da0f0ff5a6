import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who runs a command that changes state (`postings replay`, `assign`), as the audit trail and the
/// assignment record it.
///
/// Why not a name the caller types: the record must say who did it from something the caller cannot
/// simply choose. The operating system's user of the process (its effective uid, named through the
/// password database) is that; `--note` adds free text (a ticket number, "on behalf of alice")
/// recorded beside it, never instead of it. When the operations API exists, its authenticated
/// caller takes this place.
enum OperatorIdentity {
    /// Notes are shown in one line: at most this many characters, control characters dropped.
    static let maxNote = 200

    static func current(note: String?) -> String {
        let uid = geteuid()
        var who = "uid \(uid)"
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name {
            who = "\(String(cString: name)) (uid \(uid))"
        }
        guard let note else { return who }
        let clean = String(String.UnicodeScalarView(note.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).prefix(maxNote))
        return clean.isEmpty ? who : "\(who); note: \(clean)"
    }
}
