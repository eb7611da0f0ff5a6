import Synchronization

/// A wake-up one loop waits on: `signal()` from any thread; `wait(timeout:)` returns as soon as it
/// is signalled (at once if it was since the last wait), when the timeout passes, or when the task
/// is cancelled. Signals do not queue: several before a wait wake it once.
///
/// Why not an `AsyncStream` doorbell: a loop that waits for "more work or a deadline, whichever
/// first" has to cancel the wait, and a cancelled `next()` finishes an `AsyncStream` for good. Why
/// not a short sleep in a loop: it wakes a gateway's CPU hundreds of times a second for nothing and
/// still adds up to a nap's latency.
public final class WakeSignal: Sendable {
    struct State {
        var signalled = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var cancelled: UInt64?
        var nextID: UInt64 = 0
    }

    let state = Mutex(State())

    public init() {}

    /// Wakes the waiter, or the next wait if nobody waits now.
    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.signalled = true
                return nil
            }
            s.waiter = nil
            return w.continuation
        }
        waiter?.resume()
    }

    /// Waits for a signal, at most `timeout`; true if signalled. One waiter at a time.
    @discardableResult
    public func wait(timeout: Duration) async -> Bool {
        if state.withLock({ s in defer { s.signalled = false }; return s.signalled }) { return true }
        if Task.isCancelled { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitForSignal(); return !Task.isCancelled }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch {}
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Until signalled or cancelled.
    func waitForSignal() async {
        let id = state.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.cancelled == id { return true }
                    if s.signalled {
                        s.signalled = false
                        return true
                    }
                    s.waiter = (id, c)
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard let w = s.waiter, w.id == id else {
                    s.cancelled = id
                    return nil
                }
                s.waiter = nil
                return w.continuation
            }
            waiter?.resume()
        }
    }
}
