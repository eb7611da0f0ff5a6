import Foundation

/// The confirmations in one file a legacy MES dropped: CSV with a header row naming the fields
/// (`id,order,operation,yield,scrap,scrap_reason,machine_seconds,labor_seconds,at,by,work`), or JSON
/// (one confirmation object, or an array of them). Each record is decoded and checked on its own,
/// so one bad line refuses that line only, with its number.
///
/// Why hand-written CSV: RFC 4180 (quotes, doubled quotes, CRLF) is a few dozen lines, and no CSV
/// package is among the mirrored ones; records become the same JSON object an MQTT message is, so
/// both meet exactly the same checks (`MESConfirmation.decode`).
public enum ConfirmationFile {
    public struct Record: Sendable {
        /// The CSV line the record starts on (the header is line 1), or the JSON record's number (from 1).
        public var line: Int
        public var result: Result<MESConfirmation, ConfirmationRefusal>
    }

    public enum Format: String, Sendable {
        case csv, json
        public init?(fileName: String) {
            switch (fileName as NSString).pathExtension.lowercased() {
            case "csv": self = .csv
            case "json": self = .json
            default: return nil
            }
        }
    }

    /// Why a whole file cannot be read (it is moved aside with this reason, nothing booked).
    public struct Unreadable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The largest file read.
    public static let maxBytes = 10 * 1024 * 1024
    static let numbers: Set<String> = ["yield", "scrap", "machine_seconds", "labor_seconds"]

    public static func records(_ data: Data, format: Format) throws(Unreadable) -> [Record] {
        guard data.count <= maxBytes else { throw Unreadable(description: "larger than \(maxBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw Unreadable(description: "not UTF-8 text") }
        switch format {
        case .json: return try json(data)
        case .csv: return try csv(text)
        }
    }

    static func json(_ data: Data) throws(Unreadable) -> [Record] {
        let top: Any
        do {
            top = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Unreadable(description: "not JSON: \(error)")
        }
        let items: [Any] = (top as? [Any]) ?? [top]
        return items.enumerated().map { i, item in
            guard JSONSerialization.isValidJSONObject(item), let bytes = try? JSONSerialization.data(withJSONObject: item) else {
                return Record(line: i + 1, result: .failure(.malformed("not a JSON object")))
            }
            return Record(line: i + 1, result: MESConfirmation.decode(Array(bytes)))
        }
    }

    static func csv(_ text: String) throws(Unreadable) -> [Record] {
        let rows = try rows(text)
        guard let header = rows.first else { throw Unreadable(description: "empty: expected a header row naming the fields") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Record] = []
        for row in rows.dropFirst() where !(row.fields.count == 1 && row.fields[0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty) {
            guard row.fields.count == names.count else {
                out.append(Record(line: row.line, result: .failure(.malformed("\(row.fields.count) fields where the header names \(names.count)"))))
                continue
            }
            var object: [String: Any] = [:]
            for (name, raw) in zip(names, row.fields) {
                let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                if value.isEmpty { continue }
                if numbers.contains(name), let d = Double(value), d.isFinite {
                    object[name] = d
                } else if name == "work", let i = Int64(value) {
                    object[name] = i
                } else {
                    object[name] = value
                }
            }
            guard let bytes = try? JSONSerialization.data(withJSONObject: object) else {
                out.append(Record(line: row.line, result: .failure(.malformed("cannot be read as a record"))))
                continue
            }
            out.append(Record(line: row.line, result: MESConfirmation.decode(Array(bytes))))
        }
        return out
    }

    /// RFC 4180 rows with the line each starts on.
    static func rows(_ text: String) throws(Unreadable) -> [(line: Int, fields: [String])] {
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var rowStart = 1
        var chars = Array(text.unicodeScalars)[...]
        if chars.first == "\u{FEFF}" { chars = chars.dropFirst() }
        var i = chars.startIndex
        func endRow() {
            fields.append(field)
            rows.append((rowStart, fields))
            fields = []
            field = ""
        }
        while i < chars.endIndex {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.endIndex && chars[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else if c == "\r" && i + 1 < chars.endIndex && chars[i + 1] == "\n" {
                // CRLF: the \n ends the row.
            } else if c == "\n" {
                endRow()
                line += 1
                rowStart = line
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if quoted { throw Unreadable(description: "a quoted field opened on line \(rowStart) never closes") }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}
