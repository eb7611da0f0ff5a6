import CentralIngest
import PostgresNIO

/// Values in PostgreSQL's COPY text format: a tab between columns, `\N` for null, and backslash,
/// tab, newline and carriage return escaped inside a value.
///
/// Why by hand: postgres-nio streams COPY data but leaves its encoding to the caller; binary COPY
/// would need each type's wire format, the text format is what `psql \copy` and `pg_dump` use.
enum CopyText {
    static func write(_ value: TransferValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeString("\\N")
        case .integer(let v): buffer.writeString(String(v))
        case .real(let v):
            if v.isNaN { buffer.writeString("NaN") } else if v.isInfinite { buffer.writeString(v < 0 ? "-Infinity" : "Infinity") } else {
                buffer.writeString("\(v)")
            }
        case .boolean(let v): buffer.writeString(v ? "t" : "f")
        case .text(let v): escaped(v, into: &buffer)
        case .bytes(let v):
            // bytea's hex input, `\x...`, whose backslash COPY needs doubled.
            buffer.writeString("\\\\x")
            let hex = Array("0123456789abcdef".utf8)
            for b in v {
                buffer.writeInteger(hex[Int(b >> 4)])
                buffer.writeInteger(hex[Int(b & 0x0f)])
            }
        case .textList(let v):
            // An array literal, every element quoted (backslash and quote escaped inside), then
            // escaped again as one COPY value.
            var literal = "{"
            for (i, element) in v.enumerated() {
                if i > 0 { literal += "," }
                literal += "\""
                for ch in element.unicodeScalars {
                    if ch == "\\" || ch == "\"" { literal += "\\" }
                    literal.unicodeScalars.append(ch)
                }
                literal += "\""
            }
            literal += "}"
            escaped(literal, into: &buffer)
        }
    }

    /// Runs without a special byte are copied whole; most values have none.
    static func escaped(_ text: String, into buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for i in bytes.indices {
                let escape: StaticString
                switch bytes[i] {
                case UInt8(ascii: "\\"): escape = "\\\\"
                case UInt8(ascii: "\t"): escape = "\\t"
                case UInt8(ascii: "\n"): escape = "\\n"
                case UInt8(ascii: "\r"): escape = "\\r"
                default: continue
                }
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<i])))
                buffer.writeStaticString(escape)
                start = i + 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start...])))
        }
    }
}
