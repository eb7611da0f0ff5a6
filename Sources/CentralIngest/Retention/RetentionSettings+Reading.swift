import ConfigSupport
import Foundation
import MillwrightCore

extension RetentionSettings {
    public static let keys = RetentionClass.allCases.map(\.rawValue) + ["every", "chunk", "pace", "archive", "volume_warning", "volume_size"]

    /// Reads `retention:`; every key is optional (the defaults are in `RetentionSettings`).
    /// A class's value is a duration of at least `minimum`, or `forever`.
    static func read(_ node: ConfigNode?, document doc: YAMLDocument) -> RetentionSettings {
        var r = RetentionSettings()
        guard let node, let f = node.fields(allowed: keys) else { return r }
        for c in RetentionClass.allCases {
            guard let v = f[c.rawValue] else { continue }
            if v.scalarText == "forever" {
                r.keep[c] = .some(nil)
                continue
            }
            guard let d = v.duration(positive: true) else { continue }
            if d < minimum {
                v.issue("must be at least 7d (an edge may still resend an event that young), or forever; got \(v.scalarText ?? "")")
                continue
            }
            r.keep[c] = d
        }
        if let e = f["every"]?.duration(positive: true) {
            if e < .seconds(10) { f["every"]?.issue("must be at least 10s") } else { r.every = e }
        }
        r.chunk = f["chunk"]?.int(in: 100...100_000) ?? r.chunk
        if let p = f["pace"] {
            if let text = p.scalarText, text.hasSuffix("%"), let v = Double(text.dropLast()), v >= 1, v <= 100 {
                r.pace = v / 100
            } else {
                p.issue("expected the share of a run's time spent deleting while the ingest commits, 1% to 100%, like 10%; got \(p.scalarText ?? p.kindName)")
            }
        }
        if let a = f["archive"]?.string() { r.archiveDir = doc.resolve(a) }
        if let w = f["volume_warning"] {
            if let text = w.scalarText, text.hasSuffix("%"), let p = Double(text.dropLast()), p > 0, p <= 100 {
                r.volumeWarning = p / 100
            } else {
                w.issue("expected a share of the volume like 80%, got \(w.scalarText ?? w.kindName)")
            }
        }
        if let s = f["volume_size"] {
            if let text = s.scalarText, let bytes = ByteSize.parse(text), bytes > 0 {
                r.volumeBytes = bytes
            } else {
                s.issue("expected a size like 20GiB, 500MB or 1TB, got \(s.scalarText ?? s.kindName)")
            }
        }
        return r
    }
}

/// Sizes written like `20GiB`, `500MB`, `1TB` or a bare number of bytes.
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
                                         ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        let t = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let n = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n >= 0, n * factor < 9e18 else { return nil }
            return Int64(n * factor)
        }
        return Int64(t)
    }

    /// 1.5 GiB, 300 MiB, 12 KiB, 512 B.
    public static func format(_ bytes: Int64) -> String {
        let b = Double(bytes)
        for (unit, factor) in [("TiB", 1_099_511_627_776.0), ("GiB", 1_073_741_824.0), ("MiB", 1_048_576.0), ("KiB", 1024.0)] where b >= factor {
            return String(format: "%.1f %@", b / factor, unit)
        }
        return "\(bytes) B"
    }
}
