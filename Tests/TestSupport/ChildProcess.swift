import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process spawned with a clean signal mask.
///
/// Foundation's `Process` inherits the mask of the spawning thread, and test
/// threads block SIGTERM/SIGHUP, so a child started that way ignores them.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `exitStatus` is only touched under `lock`.
    public let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Spawns `path` with `arguments`; stdout and stderr go to `outputFile` (appended) or /dev/null.
    public init(_ path: String, _ arguments: [String], outputFile: String? = nil, environment: [String: String] = [:]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let out = outputFile ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // Tests spawn in parallel: without this a child inherits other tests' pipe ends, and a
        // reader waiting for EOF on its own child's output waits for this child instead.
        _ = ChildProcess.addCloseFrom?(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attr, argv, envp)
        guard rc == 0 else { throw FixtureError("cannot start \(path): \(String(cString: strerror(rc)))") }
        pid = child
        LiveChildren.add(child)
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's Glibc module does not export.
    static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Signals the child unless it has been reaped: its pid may belong to another process by then
    /// (pid_max is 32,768 here and a test run starts tens of thousands of processes), and a stray
    /// SIGKILL could take down another test's server. A child that exited but was not reaped
    /// yet keeps its pid, so signalling it is harmless.
    public func signal(_ sig: Int32) {
        lock.withLock {
            if exitStatus == nil { _ = Glibc.kill(pid, sig) }
        }
    }

    /// Waits for exit and returns the status (128+signal when killed by a signal).
    @discardableResult
    public func wait() -> Int32 {
        if let s = lock.withLock({ exitStatus }) { return s }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        lock.withLock { exitStatus = code }
        LiveChildren.remove(pid)
        return code
    }

    /// Polls for exit for up to `timeout` seconds; nil if still running.
    public func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let s = lock.withLock({ exitStatus }) { return s }
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                lock.withLock { exitStatus = code }
                LiveChildren.remove(pid)
                return code
            }
            usleep(10_000)
        }
        return nil
    }

    public var isRunning: Bool { wait(timeout: 0) == nil }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds.
    public func terminate(grace: Double = 5) {
        guard isRunning else { return }
        signal(SIGTERM)
        if wait(timeout: grace) == nil {
            signal(SIGKILL)
            wait()
        }
    }
}

/// Where the package lives, to find the built binaries and examples.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Every child a test started and nobody waited for yet. When the test process exits (pass or
/// fail), an `atexit` handler SIGKILLs what is left, so no broker or agent outlives the run even
/// when the object that owned it was never released (its `deinit` never ran). A test process that
/// is itself killed (SIGKILL, a timeout) runs no `atexit`: for that, `ChildWatchdog` kills them.
enum LiveChildren {
    private static let pids = Mutex<Set<pid_t>>([])
    private static let installed: Bool = {
        atexit {
            for pid in LiveChildren.snapshot() { _ = Glibc.kill(pid, SIGKILL) }
        }
        return true
    }()

    static func add(_ pid: pid_t) {
        _ = installed
        pids.withLock { _ = $0.insert(pid) }
        if let started = ChildWatchdog.startTime(of: pid) { ChildWatchdog.shared?.tell("\(pid) \(started)") }
    }

    static func remove(_ pid: pid_t) { pids.withLock { _ = $0.remove(pid) } }

    static func snapshot() -> Set<pid_t> { pids.withLock { $0 } }
}

/// A shell that outlives the test process by design: it reads `pid start-time` lines from a pipe
/// only this process writes to, and when the pipe closes (this process ended, however it ended)
/// it SIGKILLs every listed process still running with the same start time (so never a process
/// that got a recycled pid). PR_SET_PDEATHSIG cannot do this here: it fires when the spawning
/// *thread* ends, and test threads come and go.
final class ChildWatchdog: Sendable {
    static let shared: ChildWatchdog? = ChildWatchdog()

    private let writeEnd: Int32
    private let lock = Mutex(())

    private init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        // Should the watchdog die first, a write must fail with EPIPE, not end the tests.
        Glibc.signal(SIGPIPE, SIG_IGN)
        let script = """
            trap '' INT TERM HUP; list=""
            while read -r pid started; do list="$list $pid:$started"; done
            for entry in $list; do
              pid=${entry%%:*}; started=${entry#*:}
              now=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -d' ' -f20)
              [ "$now" = "$started" ] && kill -KILL "$pid" 2>/dev/null
            done
            """
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = ChildProcess.addCloseFrom?(&actions, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Its own process group: a Ctrl-C or a group kill aimed at the test run must not end it first.
        posix_spawnattr_setpgroup(&attr, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        let words: [String] = ["/bin/sh", "-c", script]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, "/bin/sh", &actions, &attr, argv, environ)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            return nil
        }
        writeEnd = fds[1]
    }

    /// Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, names one process for good.
    static func startTime(of pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ") ", options: .backwards) else { return nil }
        let fields = stat[close.upperBound...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    func tell(_ line: String) {
        lock.withLock { _ in
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        }
    }
}
