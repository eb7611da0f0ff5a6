import Dispatch

/// Runs blocking work (SQLite file I/O) on a serial dispatch queue of its own and awaits the result.
///
/// Why: the cooperative thread pool has one thread per core (two here); a task that blocks on a
/// file holds one of them and starves every other service. Each SQLite-backed store owns one of
/// these; its calls run in order, off the pool.
public struct BlockingQueue: Sendable {
    let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
