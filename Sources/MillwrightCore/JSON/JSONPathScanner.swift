#if canImport(Glibc)
import Glibc
#endif

/// A scalar found at a JSON path.
public enum JSONScalar: Equatable, Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    /// The path points at an object or array, not a scalar.
    case container
}

public enum JSONScanError: Error, Equatable, Sendable {
    case malformed(String)
    case tooDeep
}

/// Validates a whole JSON document in one pass and materialises only the scalars at the
/// requested paths. Written by hand because the edge's hot path has about a microsecond for it
/// and the central decodes every event of every batch: a full `JSONDecoder`/`JSONSerialization`
/// parse allocates every key and value.
public struct JSONPathScanner {
    public static let maxDepth = 64

    private let b: UnsafeRawBufferPointer
    private var i = 0
    private let paths: [JSONPath]
    private(set) var found: [JSONScalar?]
    /// Index in `paths` of the member-capture path (the object's path plus one wildcard level), if any.
    private let captureIndex: Int?
    private(set) var members: [(key: String, value: JSONScalar)] = []
    /// Whether the capture path's parent was an object (members may still be empty).
    private(set) var membersObject = false

    private init(_ bytes: UnsafeRawBufferPointer, paths: [JSONPath], captureIndex: Int?) {
        b = bytes
        self.paths = paths
        self.captureIndex = captureIndex
        found = Array(repeating: nil, count: paths.count)
    }

    /// Returns, per path, the scalar there or nil if the path is absent.
    public static func scan(_ bytes: UnsafeRawBufferPointer, paths: [JSONPath]) throws(JSONScanError) -> [JSONScalar?] {
        try scan(bytes, paths: paths, membersOf: nil).found
    }

    /// Also returns every member of the object at `membersOf` (in document order), each member's
    /// value as a scalar or `.container`; nil when that path is absent or not an object.
    public static func scan(_ bytes: UnsafeRawBufferPointer, paths: [JSONPath], membersOf: JSONPath?)
        throws(JSONScanError) -> (found: [JSONScalar?], members: [(key: String, value: JSONScalar)]?) {
        precondition(paths.count < 64, "at most 63 paths per scan")
        var all = paths
        var capture: Int?
        if let membersOf {
            capture = all.count
            // The wildcard level never matches a real key: `object` captures at that depth itself.
            all.append(JSONPath(components: membersOf.components + [.key("\u{0}*")]))
        }
        var s = JSONPathScanner(bytes, paths: all, captureIndex: capture)
        s.skipSpace()
        // Bit i set: path i still matches the current position.
        let alive: UInt64 = (1 << UInt64(all.count)) - 1
        try s.value(depth: 0, alive: alive)
        s.skipSpace()
        guard s.i == s.b.count else { throw .malformed("unexpected text after the JSON value at byte \(s.i)") }
        return (Array(s.found.prefix(paths.count)), s.membersObject ? s.members : nil)
    }

    private mutating func skipSpace() {
        while i < b.count {
            let c = b[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    private func fail(_ what: String) -> JSONScanError { .malformed("\(what) at byte \(i)") }

    /// Paths in `alive` that end at `depth` receive this value.
    private mutating func value(depth: Int, alive: UInt64) throws(JSONScanError) {
        guard depth <= Self.maxDepth else { throw .tooDeep }
        guard i < b.count else { throw fail("unexpected end of input") }
        var complete: UInt64 = 0
        if alive != 0 {
            for p in paths.indices where alive & (1 << UInt64(p)) != 0 && paths[p].components.count == depth {
                complete |= 1 << UInt64(p)
            }
        }
        let c = b[i]
        switch c {
        case UInt8(ascii: "{"):
            assign(complete, .container)
            try object(depth: depth, alive: alive & ~complete)
        case UInt8(ascii: "["):
            assign(complete, .container)
            try array(depth: depth, alive: alive & ~complete)
        case UInt8(ascii: "\""):
            if complete != 0 {
                assign(complete, .string(try string()))
            } else {
                _ = try rawString()
            }
        case UInt8(ascii: "t"):
            try literal("true")
            assign(complete, .bool(true))
        case UInt8(ascii: "f"):
            try literal("false")
            assign(complete, .bool(false))
        case UInt8(ascii: "n"):
            try literal("null")
            assign(complete, .null)
        default:
            let d = try number(parse: complete != 0)
            assign(complete, .number(d))
        }
    }

    private mutating func assign(_ mask: UInt64, _ v: JSONScalar) {
        guard mask != 0 else { return }
        for p in paths.indices where mask & (1 << UInt64(p)) != 0 { found[p] = v }
    }

    private mutating func literal(_ word: StaticString) throws(JSONScanError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw fail("truncated literal") }
        let w = word.utf8Start
        for k in 0..<n where b[i + k] != w[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func object(depth: Int, alive: UInt64) throws(JSONScanError) {
        if let c = captureIndex, alive & (1 << UInt64(c)) != 0, paths[c].components.count == depth + 1 { membersObject = true }
        i += 1
        skipSpace()
        if i < b.count && b[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
            var childAlive: UInt64 = 0
            let (start, end, escaped) = try rawString()
            var capturing = false
            if let c = captureIndex, alive & (1 << UInt64(c)) != 0, paths[c].components.count == depth + 1 {
                capturing = true
                childAlive |= 1 << UInt64(c)
            }
            let captureKey: String? = capturing
                ? (escaped ? decodeString(start, end) : String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
                : nil
            if alive != 0 {
                let keyText: String? = escaped ? decodeString(start, end) : nil
                for p in paths.indices where alive & (1 << UInt64(p)) != 0 {
                    let comps = paths[p].components
                    guard depth < comps.count, case .key(let k) = comps[depth] else { continue }
                    if let keyText { if keyText == k { childAlive |= 1 << UInt64(p) } } else if bytesEqual(start, end, k) {
                        childAlive |= 1 << UInt64(p)
                    }
                }
            }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            i += 1
            skipSpace()
            try value(depth: depth + 1, alive: childAlive)
            if let captureKey, let c = captureIndex {
                members.append((captureKey, found[c] ?? .null))
                found[c] = nil
            }
            skipSpace()
            guard i < b.count else { throw fail("unterminated object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return }
            throw fail("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int, alive: UInt64) throws(JSONScanError) {
        i += 1
        skipSpace()
        if i < b.count && b[i] == UInt8(ascii: "]") { i += 1; return }
        var index = 0
        while true {
            skipSpace()
            var childAlive: UInt64 = 0
            if alive != 0 {
                for p in paths.indices where alive & (1 << UInt64(p)) != 0 {
                    let comps = paths[p].components
                    if depth < comps.count, case .index(let n) = comps[depth], n == index { childAlive |= 1 << UInt64(p) }
                }
            }
            try value(depth: depth + 1, alive: childAlive)
            index += 1
            skipSpace()
            guard i < b.count else { throw fail("unterminated array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return }
            throw fail("expected ',' or ']' in an array")
        }
    }

    private func bytesEqual(_ start: Int, _ end: Int, _ key: String) -> Bool {
        var k = 0
        let n = end - start
        for c in key.utf8 {
            guard k < n, b[start + k] == c else { return false }
            k += 1
        }
        return k == n
    }

    /// Validates a string and returns its raw byte range (without quotes) and whether it has escapes.
    private mutating func rawString() throws(JSONScanError) -> (Int, Int, Bool) {
        i += 1
        let start = i
        var escaped = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return (start, i - 1, escaped)
            }
            if c < 0x20 { throw fail("control character in a string") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                i += 1
                guard i < b.count else { break }
                switch b[i] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    break
                case UInt8(ascii: "u"):
                    guard i + 4 < b.count, (1...4).allSatisfy({ Self.hexValue(b[i + $0]) != nil }) else {
                        throw fail("invalid \\u escape")
                    }
                    i += 4
                default:
                    throw fail("invalid escape")
                }
            }
            i += 1
        }
        throw fail("unterminated string")
    }

    private mutating func string() throws(JSONScanError) -> String {
        let (start, end, escaped) = try rawString()
        if !escaped {
            return String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
        }
        return decodeString(start, end)
    }

    /// Decodes escapes in an already validated string.
    private func decodeString(_ start: Int, _ end: Int) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll()
            }
        }
        var k = start
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 << 4 | UInt32(Self.hexValue(b[at + $1]) ?? 0) }
        }
        while k < end {
            let c = b[k]
            guard c == UInt8(ascii: "\\") else { utf8.append(c); k += 1; continue }
            flush()
            let e = b[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var v = hex4(k)
                k += 4
                if (0xD800..<0xDC00).contains(v), k + 6 <= end, b[k] == UInt8(ascii: "\\"), b[k + 1] == UInt8(ascii: "u") {
                    let low = hex4(k + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        k += 6
                    }
                }
                scalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default: scalars.append(Unicode.Scalar(e))
            }
        }
        flush()
        return String(scalars)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// Validates JSON number grammar; converts only when the value is wanted.
    private mutating func number(parse: Bool) throws(JSONScanError) -> Double {
        let start = i
        if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 48 && b[i] <= 57 else { throw fail("invalid value") }
        if b[i] == 48 { i += 1 } else { while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 } }
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            guard i < b.count, b[i] >= 48 && b[i] <= 57 else { throw fail("digits expected after '.'") }
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
        }
        if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < b.count, b[i] >= 48 && b[i] <= 57 else { throw fail("digits expected in exponent") }
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
        }
        guard parse else { return 0 }
        return Self.parseDouble(UnsafeRawBufferPointer(rebasing: b[start..<i]))
    }

    /// strtod on a NUL-terminated stack copy (the payload buffer is not NUL-terminated).
    static func parseDouble(_ text: UnsafeRawBufferPointer) -> Double {
        let n = text.count
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for k in 0..<n { buf[k] = CChar(bitPattern: text[k]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }
}
