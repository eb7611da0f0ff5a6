/// Finds the byte ranges of the elements of one top-level array in a JSON object, so the
/// central can store each event exactly as the edge committed it instead of re-encoding it.
///
/// Assumes the document is valid JSON (the batch is fully decoded first); it only tracks
/// nesting and strings. Written by hand: JSON libraries give values, not their source ranges.
enum RawJSONSpans {
    /// Ranges of the elements of the array at top-level key `key`, or nil if there is none.
    static func arrayElements(of key: String, in bytes: [UInt8]) -> [Range<Int>]? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        let keyBytes = Array(key.utf8)
        var i = 0
        let n = bytes.count

        func skipString() {
            // At the opening quote; leaves i after the closing quote.
            i += 1
            while i < n {
                if bytes[i] == backslash { i += 2; continue }
                if bytes[i] == quote { i += 1; return }
                i += 1
            }
        }
        func skipSpace() { while i < n, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }
        /// Skips one value; leaves i after it.
        func skipValue() {
            skipSpace()
            guard i < n else { return }
            if bytes[i] == quote { skipString(); return }
            if bytes[i] == UInt8(ascii: "{") || bytes[i] == UInt8(ascii: "[") {
                var depth = 0
                while i < n {
                    let c = bytes[i]
                    if c == quote { skipString(); continue }
                    if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                    if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { i += 1; return }
                    }
                    i += 1
                }
                return
            }
            while i < n, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
        }

        skipSpace()
        guard i < n, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while i < n {
            skipSpace()
            guard i < n, bytes[i] == quote else { return nil }
            let keyStart = i + 1
            skipString()
            let isKey = bytes[keyStart..<(i - 1)].elementsEqual(keyBytes)
            skipSpace()
            guard i < n, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            if isKey {
                guard i < n, bytes[i] == UInt8(ascii: "[") else { return nil }
                i += 1
                var spans: [Range<Int>] = []
                while true {
                    skipSpace()
                    guard i < n else { return nil }
                    if bytes[i] == UInt8(ascii: "]") { return spans }
                    let start = i
                    skipValue()
                    spans.append(start..<i)
                    skipSpace()
                    guard i < n else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1 }
                }
            }
            skipValue()
            skipSpace()
            guard i < n else { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1 } else { return nil }
        }
        return nil
    }
}
