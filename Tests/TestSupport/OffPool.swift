import Foundation

/// Runs blocking work (a child process, a fixture call) on a thread of its own and awaits it.
///
/// Why: an async test that calls a blocking function holds one of the cooperative pool's threads
/// (two on a 2-core machine) while it waits; with both held, every other test's tasks stop, and
/// PostgreSQL ends their transactions as idle (a full local run failed so).
public func offPool<T>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let box = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HandedOver<T>, any Error>) in
        Thread { continuation.resume(with: Result { HandedOver(value: try body()) }) }.start()
    }
    return box.value
}

/// A value made on the worker thread and handed to the awaiting task once; the thread keeps no
/// reference to it, so nothing is shared (fixture answers are JSON dictionaries, not Sendable).
struct HandedOver<T>: @unchecked Sendable {
    let value: T
}
