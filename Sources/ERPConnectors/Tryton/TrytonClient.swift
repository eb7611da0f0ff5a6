import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import CentralSync

/// What went wrong talking to Tryton, and what to do about it.
public enum TrytonError: Error, CustomStringConvertible, Sendable {
    /// No answer in time. The call may still have been applied: look it up before repeating it.
    case timeout(method: String, after: String)
    case transport(method: String, detail: String)
    case http(method: String, status: Int, body: String)
    /// Tryton refused the call (validation, access, state): the message is Tryton's.
    case refused(method: String, kind: String, message: String)
    case unexpectedAnswer(method: String, detail: String)
    case login(String)

    public var description: String {
        switch self {
        case .timeout(let m, let after): return "Tryton did not answer \(m) within \(after); it may have applied it (the next attempt looks it up first)"
        case .transport(let m, let d): return "cannot reach Tryton for \(m): \(d). Check erp.tryton.url and that the server runs"
        case .http(let m, let s, let b): return "Tryton answered \(m) with HTTP \(s): \(b.prefix(300))"
        case .refused(let m, let k, let msg): return "Tryton refused \(m): \(k): \(msg)"
        case .unexpectedAnswer(let m, let d): return "unexpected answer from Tryton to \(m): \(d)"
        case .login(let d): return "cannot log in to Tryton: \(d). Check erp.tryton.user and password"
        }
    }
}

/// Tryton's JSON-RPC over HTTP (`POST /<database>/rpc/`): a session from `common.db.login`,
/// sent as `Authorization: Session base64(login:user_id:session)`, renewed when it expires.
public final class TrytonClient: Sendable {
    let config: SyncConfiguration.Tryton
    let http: HTTPClient
    let logger: Logger
    let session = Mutex<(userID: Int, token: String)?>(nil)
    let ids = Mutex(0)

    public init(config: SyncConfiguration.Tryton, logger: Logger) {
        self.config = config
        self.logger = logger
        // The process-wide client: it lives as long as the process, so nothing must shut it down.
        http = HTTPClient.shared
    }

    /// The user's context (company, language) is the required last argument of every model call.
    /// Goes through `call`, so an expired session (Tryton ends one idle for `[session] timeout`,
    /// 5 minutes by default, e.g. through a network outage) is renewed here too.
    public func context() async throws(TrytonError) -> [String: Any] {
        let ctx = try await call("model.res.user.get_preferences", [true, [:] as [String: Any]])
        guard let d = ctx as? [String: Any] else { throw .unexpectedAnswer(method: "get_preferences", detail: "\(ctx)") }
        return d
    }

    func login() async throws(TrytonError) {
        let result: Any
        do {
            result = try await rawCall("common.db.login", [config.user, ["password": config.password], "en"], auth: nil)
        } catch {
            throw .login("\(error)")
        }
        guard let a = result as? [Any], a.count >= 2, let uid = (a[0] as? NSNumber)?.intValue, let token = a[1] as? String else {
            throw .login("unexpected answer \(result)")
        }
        session.withLock { $0 = (uid, token) }
    }

    /// Calls `method` with `params` (the context is appended by the caller); logs in first if needed
    /// and once more if the session expired.
    public func call(_ method: String, _ params: [Any]) async throws(TrytonError) -> Any {
        if session.withLock({ $0 }) == nil { try await login() }
        do {
            return try await rawCall(method, params, auth: session.withLock { $0 })
        } catch .http(_, let status, _) where status == 401 || status == 403 {
            logger.notice("Tryton session expired or refused; logging in again", metadata: ["method": "\(method)", "status": "\(status)"])
            try await login()
            return try await rawCall(method, params, auth: session.withLock { $0 })
        }
    }

    func rawCall(_ method: String, _ params: [Any], auth: (userID: Int, token: String)?) async throws(TrytonError) -> Any {
        let id = ids.withLock { $0 += 1; return $0 }
        let body: Data
        do { body = try JSONSerialization.data(withJSONObject: ["method": method, "params": params, "id": id]) } catch {
            throw .unexpectedAnswer(method: method, detail: "cannot encode the parameters: \(error)")
        }
        var request = HTTPClientRequest(url: config.rpcURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let auth {
            let raw = "\(config.user):\(auth.userID):\(auth.token)"
            request.headers.add(name: "Authorization", value: "Session " + Data(raw.utf8).base64EncodedString())
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let bytes: ByteBuffer
        let status: Int
        do {
            let answer = try await HTTPExchange.run(http, request, timeout: config.timeout.duration, maxBytes: 64 << 20)
            status = Int(answer.status)
            bytes = answer.body
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout {
            throw .timeout(method: method, after: "\(config.timeout)")
        } catch is HTTPExchange.TimedOut {
            throw .timeout(method: method, after: "\(config.timeout)")
        } catch {
            throw .transport(method: method, detail: "\(error)")
        }
        let data = Data(bytes.readableBytesView)
        guard status == 200 else { throw .http(method: method, status: status, body: String(decoding: data, as: UTF8.self)) }
        guard let answer = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .unexpectedAnswer(method: method, detail: String(decoding: data.prefix(300), as: UTF8.self))
        }
        if let error = answer["error"], !(error is NSNull) {
            // ["UserError", ["message", "description", ...]] or ["KeyError", "..."]
            if let e = error as? [Any], let kind = e.first as? String {
                let detail = (e.count > 1 ? e[1] : "")
                let message = (detail as? [Any])?.compactMap { $0 as? String }.filter { !$0.isEmpty }.joined(separator: " — ") ?? "\(detail)"
                throw .refused(method: method, kind: kind, message: message)
            }
            throw .refused(method: method, kind: "error", message: "\(error)")
        }
        return answer["result"] ?? NSNull()
    }
}

/// Tryton's JSON encodings of dates and decimals.
enum TrytonJSON {
    static func date(_ ymd: String) -> [String: Any] {
        let p = ymd.split(separator: "-").compactMap { Int($0) }
        return ["__class__": "date", "year": p.count > 0 ? p[0] : 1970, "month": p.count > 1 ? p[1] : 1, "day": p.count > 2 ? p[2] : 1]
    }

    static func decimal(_ v: Double) -> [String: Any] { ["__class__": "Decimal", "decimal": String(v)] }

    static func timedelta(seconds: Double) -> [String: Any] { ["__class__": "timedelta", "seconds": seconds] }

    /// A number Tryton sent: a plain number or {"__class__": "Decimal", "decimal": "1.5"}.
    static func number(_ v: Any?) -> Double? {
        if let n = v as? NSNumber { return n.doubleValue }
        if let d = v as? [String: Any], let s = d["decimal"] as? String { return Double(s) }
        return nil
    }

    static func int(_ v: Any?) -> Int64? { (v as? NSNumber)?.int64Value }
}
