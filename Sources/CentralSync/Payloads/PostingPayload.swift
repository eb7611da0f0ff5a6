import ConfigSupport
import Foundation

/// A posting's payload as a typed value: built by the reconciliation, stored as JSON text (so an
/// operator can read and edit it), decoded by the connectors.
///
/// Why a protocol: the outbox, the replay check and the connectors handle every kind alike; each
/// conforming type knows its fields and ranges (`check`).
public protocol PostingPayload: Codable, Sendable {
    /// The JSON field names the type knows, when it refuses others (nil: open, like an event's values).
    static var knownFields: Set<String>? { get }
    /// Ranges and consistency beyond the shape, and that the payload belongs to a posting of `kind`
    /// with idempotency key `key`.
    func check(kind: PostingKind, key: String) throws(PayloadError)
}

extension PostingPayload {
    /// The stored form: a JSON object with sorted keys, so two equal payloads are equal text.
    public func encoded() throws(PayloadError) -> String {
        try encoded(pretty: false)
    }

    /// Sorted keys, slashes as they are; indented when `pretty` (a file or a body people read).
    func encoded(pretty: Bool) throws(PayloadError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw .unencodable("\(error)")
        }
    }

    /// That an edited payload keeps the posting's kind and idempotency key: a changed key would let
    /// the target see the change twice (the lookup by key finds nothing), a changed kind would send
    /// it somewhere else. `payloadKind` and `payloadKey` are what the payload says.
    static func checkIdentity(kind payloadKind: PostingKind, key payloadKey: String,
                              expected: PostingKind, expectedKey: String) throws(PayloadError) {
        guard payloadKind == expected else {
            throw .invalid(expected, field: "kind", reason: "is \"\(payloadKind)\"; a posting keeps its kind (\"\(expected)\")")
        }
        guard payloadKey == expectedKey else {
            throw .invalid(payloadKind, field: "key",
                           reason: "is \"\(payloadKey)\"; a posting keeps its key (\"\(expectedKey)\"), or the target could see it twice")
        }
    }

    /// The typed payload of `text`, or what is wrong with it (`kind` names it in the error).
    public static func decode(_ text: String, as kind: PostingKind) throws(PayloadError) -> Self {
        let data = Data(text.utf8)
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw PayloadError.notAnObject(kind) }
            object = o
        } catch let e as PayloadError {
            throw e
        } catch {
            throw .notJSON(kind, "\(error)")
        }
        if let known = knownFields {
            for field in object.keys.sorted() where !known.contains(field) {
                throw .unknownField(kind, field, hint: Suggest.hint(field, known.sorted()))
            }
        }
        do {
            return try JSONDecoder().decode(Self.self, from: data)
        } catch let e as DecodingError {
            throw PayloadError(kind, e)
        } catch {
            throw .notJSON(kind, "\(error)")
        }
    }
}
