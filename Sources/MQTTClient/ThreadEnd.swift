import Foundation
import Synchronization

/// The end of the client's network thread, awaitable without blocking a thread.
///
/// Why not a semaphore: `stop()` is called from services on the cooperative pool (two threads on a
/// small gateway); a semaphore wait there holds a pool thread for as long as libmosquitto takes to
/// disconnect, and every other task waits behind it.
final class ThreadEnd: Sendable {
    private let state = Mutex<(ended: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// For callers that are a thread of their own (tests' cleanup, `deinit`-like paths).
    private let semaphore = DispatchSemaphore(value: 0)

    /// Called once, by the network thread as it ends.
    func signal() {
        let waiters = state.withLock { s in
            s.ended = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
        semaphore.signal()
    }

    /// Returns once the thread has ended (at once if it has).
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { s in
                if !s.ended { s.waiters.append(c) }
                return s.ended
            }
            if ended { c.resume() }
        }
    }

    /// Blocks the calling thread until the thread has ended.
    func waitBlocking() {
        guard !state.withLock({ $0.ended }) else { return }
        semaphore.wait()
        semaphore.signal()  // a later blocking waiter returns at once too
    }
}
