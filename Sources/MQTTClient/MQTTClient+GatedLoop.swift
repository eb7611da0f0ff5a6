import CMosquitto
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension MQTTClient {
    /// One connection's life with acknowledgements held until the gate says the messages they
    /// acknowledge are durable. Returns when the connection is lost or the client stops.
    ///
    /// Read phase: `mosquitto_loop_read` while fewer than `maxUnacknowledged` messages wait for
    /// their commit; each message runs `onMessage` (queuing its PUBACK inside libmosquitto).
    /// Seal: when the socket has nothing more to read or the window is full, the gate commits.
    /// Write phase: `mosquitto_loop_write` only once a sealed ticket is durable and nothing was
    /// read after it, so every PUBACK on the wire follows the commit that covers its message.
    func runGatedSession(_ gate: any DeliveryGate, wake: WakePipe) {
        let m = handle.raw
        let maxUnacknowledged = max(1, options.receiveMaximum)
        var ticket: UInt64?
        var sealedAt = 0
        var idle = false
        box.delivered.store(0, ordering: .relaxed)
        let ringWake: @Sendable () -> Void = { wake.ring() }
        var stopDeadline: ContinuousClock.Instant?
        while true {
            let stopping = isStopping
            if stopping {
                // Give the last commit a few seconds; unacknowledged messages are redelivered anyway.
                let deadline = stopDeadline ?? .now + .seconds(5)
                stopDeadline = deadline
                if ContinuousClock.now > deadline { return }
            }
            let delivered = box.delivered.load(ordering: .relaxed)
            if delivered > 0 {
                if let t = ticket, gate.isDurable(t) {
                    ticket = nil
                    if sealedAt == delivered {
                        // Everything read is committed: the queued PUBACKs may go.
                        box.delivered.store(0, ordering: .relaxed)
                        gateCounters.withLock { $0.acknowledged += delivered }
                    }
                }
                if ticket == nil, box.delivered.load(ordering: .relaxed) > 0, idle || delivered >= maxUnacknowledged || stopping {
                    sealedAt = delivered
                    ticket = gate.seal(wake: ringWake)
                    gateCounters.withLock { $0.seals += 1 }
                    continue
                }
            }
            let held = box.delivered.load(ordering: .relaxed)
            if held == 0, mosquitto_want_write(m) {
                let rc = mosquitto_loop_write(m, 1)
                if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) { return }
            }
            if stopping && held == 0 {
                // The DISCONNECT queued by stop() went out with the last acks.
                return
            }
            let sock = mosquitto_socket(m)
            guard sock >= 0 else { return }
            var events: Int16 = 0
            let writerKeepsUp = gate.mayRead
            // A lagging writer rings the pipe when it has committed (it would not otherwise: it
            // rings only for tickets); the loop sleeps until then.
            if !writerKeepsUp { gate.wakeWhenReadable(ringWake) }
            if held < maxUnacknowledged && !stopping && writerKeepsUp { events |= Int16(POLLIN) }
            if held == 0 && mosquitto_want_write(m) { events |= Int16(POLLOUT) }
            var fds = [pollfd(fd: sock, events: events, revents: 0), pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
            // A waiting ticket and a writer that caught up are woken through the pipe; otherwise
            // wake for keepalive once a second.
            let rc = poll(&fds, 2, 1000)
            if rc < 0 && errno != EINTR { return }
            if fds[1].revents & Int16(POLLIN) != 0 { wake.drain() }
            idle = true
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                // Read whole packets until the socket is drained or the window is full.
                var reads = 0
                while box.delivered.load(ordering: .relaxed) < maxUnacknowledged && reads < 4096 && (reads % 256 != 255 || gate.mayRead) {
                    errno = 0
                    let r = mosquitto_loop_read(m, 1)
                    if r != Int32(MOSQ_ERR_SUCCESS.rawValue) { return }
                    reads += 1
                    if errno == EAGAIN || errno == EWOULDBLOCK { break }
                }
                idle = errno == EAGAIN || errno == EWOULDBLOCK
            }
            if fds[0].revents & Int16(POLLOUT) != 0, box.delivered.load(ordering: .relaxed) == 0 {
                if mosquitto_loop_write(m, 1) != Int32(MOSQ_ERR_SUCCESS.rawValue) { return }
            }
            if mosquitto_loop_misc(m) != Int32(MOSQ_ERR_SUCCESS.rawValue) { return }
        }
    }
}

/// A non-blocking pipe that wakes the gated loop's `poll` (a commit finished, or stop()).
final class WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    func ring() {
        var b: UInt8 = 1
        _ = write(writeEnd, &b, 1)  // a full pipe already wakes the reader
    }

    func drain() {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buf, buf.count) > 0 {}
    }
}

/// What the gated loop did, for status and tests.
public struct DeliveryGateCounters: Sendable, Hashable, Codable {
    /// Commits requested before acknowledging.
    public var seals = 0
    /// Messages acknowledged after their commit.
    public var acknowledged = 0
}
