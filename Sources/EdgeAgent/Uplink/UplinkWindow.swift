import EdgeConfig
import MillwrightCore

/// How many batches the uplink may have unacknowledged, adapted to how fast the central answers.
///
/// Why: a drain is a pipeline of the edge reading and sending and the central committing and
/// acknowledging. A small window leaves both sides waiting on each other (0.65-0.7 of the
/// central's own rate at 8 batches); a large fixed window drains at 0.9-0.97 but, on every edge of
/// a fleet reconnecting at once, fills the central broker with the sum of all windows. This window
/// starts small and grows while acknowledgements come back within the target latency, and shrinks
/// while they take longer. The central answers in arrival order, so an ack's latency is the time
/// its batch queued behind everything every edge sent: with each edge keeping its latency near
/// the target, the whole fleet queues about `target x the central's rate` at the central, however
/// many edges drain at once. A timeout halves the window; a stream that never fills the window
/// tells nothing and changes nothing. Pure state: the uplink feeds it each ack's latency, timeouts,
/// reconnects and a full window. (A rule that also kept a growth only when it raised the acknowledged
/// rate was tried first: on a 2-core machine the rate of one round is too noisy to judge, and the
/// drain stayed at the start size.)
struct UplinkWindow: Sendable {
    let mode: UplinkConfig.WindowMode
    /// The configured `max_inflight_batches`: the largest window, and the window in fixed mode.
    let cap: Int
    let start: Int
    let latencyTarget: Duration
    /// Where an adaptive window starts: 2 batches of up to 1 MiB by default, what every edge of a
    /// fleet sends at once when the central comes back (the 8 x 256 KiB of the fixed window before).
    static let startBatches = 2
    /// The current limit on batches in flight.
    private(set) var size: Int
    /// Changes so far, as status reports them.
    private(set) var changes = WindowChanges()

    /// Batches are tagged with the window's epoch when sent; only acks of batches sent under the
    /// current size measure it.
    private(set) var epoch = 0
    private var round = Round()

    private struct Round {
        var acks = 0
        var latency: Duration = .zero
        var limited = false
    }

    init(mode: UplinkConfig.WindowMode, cap: Int, latencyTarget: Duration) {
        self.mode = mode
        self.cap = max(1, cap)
        self.latencyTarget = latencyTarget
        start = mode == .fixed ? self.cap : min(self.cap, Self.startBatches)
        size = start
    }

    /// The send loop found the window full: this round measured a window-limited drain.
    mutating func full() {
        round.limited = true
    }

    /// The central acknowledged a batch sent in `batchEpoch`, `latency` after the broker took it.
    /// A round is half a window's worth of such acks (at least two): with the wait for the first
    /// batch sent under a new size, a change then takes about one and a half round trips.
    mutating func acked(batchEpoch: Int, latency: Duration) {
        guard mode == .adaptive, batchEpoch == epoch else { return }
        round.acks += 1
        round.latency += latency
        guard round.acks >= max(2, size / 2) else { return }
        decide(meanLatency: round.latency / round.acks)
    }

    /// A batch went unacknowledged for `ack_timeout`: everything is resent, the window halves.
    mutating func timedOut() {
        guard mode == .adaptive else { return }
        let halved = max(1, size / 2)
        if halved != size { changes.halvedOnTimeout += 1 }
        resize(halved)
    }

    /// The link was lost or the central came back: like after an idle period, start small again
    /// (a fleet reconnecting at once must not send every edge's learned window at once).
    mutating func restart() {
        guard mode == .adaptive else { return }
        resize(start)
    }

    /// Above the target: a quarter smaller. Below: twice or half as large again while that would
    /// still be under the target if latency grew with the window (queueing), else one batch more.
    private mutating func decide(meanLatency: Duration) {
        let limited = round.limited
        round = Round()
        if meanLatency > latencyTarget {
            let smaller = max(1, min(size - 1, size * 3 / 4))
            if smaller != size {
                changes.shrunkForLatency += 1
                resize(smaller)
            }
            return
        }
        guard limited, size < cap else { return }
        let larger = meanLatency * 2 <= latencyTarget ? size * 2
            : meanLatency * 3 / 2 <= latencyTarget ? max(size + 1, size * 3 / 2) : size + 1
        changes.grown += 1
        resize(min(cap, larger))
    }

    private mutating func resize(_ new: Int) {
        size = new
        epoch += 1
        round = Round()
    }
}
