import Dispatch

/// Runs blocking work (SQLite file I/O) on a serial dispatch queue of its own and awaits the result.
///
/// Why: the cooperative thread pool has one thread per core (two here); a task that blocks on a
/// file holds one of them and starves every other service. Each SQLite-backed store owns one of
/// these, as do the edge's writer and uplink; calls run in order, off the pool.
public struct BlockingQueue: Sendable {
    let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `work` on the queue; its error, if any, is thrown here.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await perform { Result { try work() } }.get()
    }

    /// Runs `work`, which cannot fail, on the queue.
    public func perform<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
