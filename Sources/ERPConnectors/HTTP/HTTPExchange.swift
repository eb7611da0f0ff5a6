import AsyncHTTPClient
import Foundation
import NIOCore

/// One HTTP request and its whole answer under one deadline. Why: async-http-client's request
/// deadline is the library's to keep; a CI run once saw a 2 s Tryton call answered after 8 s
/// without it firing, so the answer's body and every step before it are raced against our own
/// timer as well. The request is cancelled when the timer wins.
enum HTTPExchange {
    struct TimedOut: Error, CustomStringConvertible {
        var after: Duration
        var description: String { "no complete answer within \(after)" }
    }

    /// Status and body (at most `maxBytes`), or `TimedOut` once `timeout` has passed.
    static func run(_ http: HTTPClient, _ request: HTTPClientRequest, timeout: Duration, maxBytes: Int) async throws -> (status: UInt, body: ByteBuffer) {
        let ms = Int64(timeout.components.seconds) * 1000 + Int64(timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await withThrowingTaskGroup(of: (status: UInt, body: ByteBuffer)?.self) { group in
            group.addTask {
                let response = try await http.execute(request, timeout: .milliseconds(ms))
                return (response.status.code, try await response.body.collect(upTo: maxBytes))
            }
            group.addTask {
                try await Task.sleep(for: timeout + .milliseconds(50))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else { throw TimedOut(after: timeout) }
            return answer
        }
    }
}
