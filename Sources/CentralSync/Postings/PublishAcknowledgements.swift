import Synchronization

/// Waits for the broker's acknowledgement (PUBACK) of a QoS 1 publish by its message id.
///
/// Why it exists: a posting published to MQTT is delivered when the broker has taken it, not when
/// libmosquitto has queued it; reporting it delivered on enqueue lost it whenever the broker went
/// away before the PUBACK. libmosquitto calls its publish callback on its network thread, possibly
/// before `mosquitto_publish` has returned the id to the caller, so an acknowledgement that comes
/// first is kept until its waiter arrives. An id whose waiter gave up is remembered, so its late
/// acknowledgement cannot be taken for a later publish that reuses the id.
final class PublishAcknowledgements: Sendable {
    struct State {
        var waiters: [Int32: CheckedContinuation<Bool, Never>] = [:]
        var early: Set<Int32> = []
        var abandoned: Set<Int32> = []
    }

    let state = Mutex(State())

    /// The broker acknowledged `mid` (libmosquitto's publish callback).
    func acknowledged(_ mid: Int32) {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            if let w = s.waiters.removeValue(forKey: mid) { return w }
            if s.abandoned.remove(mid) == nil { s.early.insert(mid) }
            return nil
        }
        waiter?.resume(returning: true)
    }

    /// True once the broker acknowledged `mid`, false if `timeout` passed first.
    func wait(for mid: Int32, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.acknowledgement(of: mid) }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return false }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Suspends until `mid` is acknowledged; false when cancelled first.
    func acknowledgement(of mid: Int32) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { s -> Bool? in
                    if s.early.remove(mid) != nil { return true }
                    if Task.isCancelled { return false }
                    s.abandoned.remove(mid)
                    s.waiters[mid] = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                guard let w = s.waiters.removeValue(forKey: mid) else { return nil }
                s.abandoned.insert(mid)
                return w
            }
            waiter?.resume(returning: false)
        }
    }
}
