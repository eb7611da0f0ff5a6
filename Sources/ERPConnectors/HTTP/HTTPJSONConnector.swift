import AsyncHTTPClient
import CentralSync
import Foundation
import MillwrightCore
import NIOCore

/// POSTs postings as JSON to another ERP, an MES or a CMMS. The body is the payload, or a mapping
/// template rendered from it (`{{field}}`); the URL may name fields too (`{order_number}`).
///
/// Every request carries `Idempotency-Key`: 2xx is delivered, 409 means the target already has it
/// (delivered), anything else (and a timeout) is retried and eventually dead-lettered.
public final class HTTPJSONConnector: PostingConnector {
    let url: String
    let template: String?
    let headers: [String: String]
    let timeout: Millis
    let http: HTTPClient

    public init(url: String, template: String?, headers: [String: String], timeout: Millis) {
        self.url = url
        self.template = template
        self.headers = headers
        self.timeout = timeout
        // The process-wide client: it lives as long as the process, so nothing must shut it down.
        http = HTTPClient.shared
    }

    public func deliver(_ posting: Posting) async -> DeliveryOutcome {
        let target = PayloadTemplate.renderPath(url, payload: posting.payload)
        let body = template.map { PayloadTemplate.renderBody($0, payload: posting.payload) } ?? posting.payload
        guard (try? JSONSerialization.jsonObject(with: Data(body.utf8))) != nil else {
            return .failed("the rendered body is not JSON; check the target's template: \(body.prefix(200))")
        }
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: posting.idempotencyKey)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await HTTPExchange.run(http, request, timeout: timeout.duration, maxBytes: 1 << 20)
            let text = String(buffer: response.body)
            switch response.status {
            case 200..<300:
                return .delivered(documentRef: Self.reference(text) ?? "http:\(target)#\(posting.idempotencyKey)", note: "HTTP \(response.status)")
            case 409:
                return .found(documentRef: Self.reference(text) ?? "http:\(target)#\(posting.idempotencyKey)", note: "found by reference (HTTP 409)")
            default:
                return .failed("\(target) answered HTTP \(response.status): \(text.prefix(300))")
            }
        } catch {
            return .failed("\(target): \(error)")
        }
    }

    /// A document reference the target returned (`{"id": ...}` or `{"reference": ...}`), if any.
    static func reference(_ text: String) -> String? {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        if let r = o["reference"] as? String { return r }
        if let id = o["id"] { return "\(id)" }
        return nil
    }
}
