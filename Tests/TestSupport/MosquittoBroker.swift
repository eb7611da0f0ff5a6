import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real mosquitto broker on a free loopback port, for tests. Stopped by `stop()` or deinit.
public final class MosquittoBroker: @unchecked Sendable {
    // @unchecked: `process` is only touched under `lock`.
    public let port: Int
    public let directory: URL
    private let lock = NSLock()
    private var process: ChildProcess?
    private let extraConfig: String
    private let listenerOptions: String
    private let allowAnonymous: Bool

    /// `listenerOptions` go right under the listener line (TLS files, password_file).
    public init(port: Int? = nil, extraConfig: String = "", listenerOptions: String = "", allowAnonymous: Bool = true) throws {
        self.port = try port ?? FreePort.find()
        self.extraConfig = extraConfig
        self.listenerOptions = listenerOptions
        self.allowAnonymous = allowAnonymous
        directory = try TemporaryDirectory.make(prefix: "mosquitto")
        try start()
    }

    public func start() throws {
        let conf = directory.appendingPathComponent("mosquitto.conf")
        try """
        per_listener_settings true
        listener \(port) 127.0.0.1
        allow_anonymous \(allowAnonymous)
        \(listenerOptions)
        persistence false
        max_queued_messages 0
        max_inflight_messages 0
        log_dest file \(directory.path)/mosquitto.log
        \(geteuid() == 0 ? "user root" : "")
        log_type error
        log_type warning
        log_type notice
        log_type information
        log_type subscribe
        \(extraConfig)
        """.write(to: conf, atomically: true, encoding: .utf8)
        let p = try ChildProcess(try Executables.locate("mosquitto"), ["-c", conf.path])
        lock.withLock { process = p }
        try FreePort.waitUntilAccepting(port: port, timeout: 10)
    }

    /// SIGTERM and wait: the broker is gone when this returns.
    public func stop() {
        let p = lock.withLock { () -> ChildProcess? in
            defer { process = nil }
            return process
        }
        p?.terminate()
    }

    /// Sends `sig` to the running broker (SIGSTOP and SIGCONT: a broker that hangs, then resumes).
    public func signal(_ sig: Int32) {
        lock.withLock { process }?.signal(sig)
    }

    /// SIGSTOP, and wait until the kernel shows the broker stopped (a signal takes effect when the
    /// process is next scheduled, not when `kill` returns): from then on it answers nothing.
    public func freeze(timeout: Double = 10) -> Bool {
        guard let pid = lock.withLock({ process })?.pid else { return false }
        signal(SIGSTOP)
        return eventually(timeout: timeout) {
            // /proc/<pid>/stat: "pid (comm) state ..."; T is stopped by a signal.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
        }
    }

    /// SIGKILL: a crash, no clean shutdown.
    public func kill() {
        let p = lock.withLock { () -> ChildProcess? in
            defer { process = nil }
            return process
        }
        p?.signal(SIGKILL)
        p?.wait()
    }

    public var logPath: String { directory.appendingPathComponent("mosquitto.log").path }

    /// Subscriptions the broker granted so far (its log, `log_type subscribe`: "<time>: <client> <qos> <filter>"),
    /// optionally only those of one client.
    public func subscriptions(client: String? = nil) -> Int {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").filter { line in
            let parts = line.split(separator: " ")
            guard parts.count == 4, parts[0].hasSuffix(":"), ["0", "1", "2"].contains(parts[2]) else { return false }
            return client.map { parts[1] == $0 } ?? true
        }.count
    }

    /// Waits (generously) until the broker has granted more subscriptions than `before`: a test
    /// publishes only once its subscriber is really subscribed, instead of sleeping and hoping.
    @discardableResult
    public func waitForSubscriptions(moreThan before: Int, client: String? = nil, timeout: Double = 30) -> Bool {
        eventually(timeout: timeout) { self.subscriptions(client: client) > before }
    }

    deinit { stop() }
}

public enum FreePort {
    /// Binds port 0 on loopback and returns what the kernel chose.
    public static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                bind(fd, sp, len) == 0 && getsockname(fd, sp, &len) == 0
            }
        }
        guard ok else { throw FixtureError("bind() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    public static func waitUntilAccepting(port: Int, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if canConnect(port: port) { return }
            usleep(20_000)
        }
        throw FixtureError("nothing accepted connections on 127.0.0.1:\(port) within \(timeout)s")
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

public enum TemporaryDirectory {
    public static func make(prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("millwright-\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public enum Executables {
    /// Finds a program on PATH (and the sbin folders where Debian puts mosquitto).
    public static func locate(_ name: String) throws -> String {
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw FixtureError("\(name) does not exist: build first (./scripts/test)") }
            return name
        }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw FixtureError("\(name) is not installed: run ./scripts/test, which installs it")
    }

    /// Runs a program to completion, feeding `input` on stdin; returns its exit status and stdout.
    @discardableResult
    /// Runs a program to its end; `output` is its stdout, with its stderr after it when `withStderr`.
    public static func run(_ name: String, _ arguments: [String], input: Data? = nil,
                           withStderr: Bool = false) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try locate(name))
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = withStderr ? out : FileHandle.nullDevice
        let inPipe = Pipe()
        if input != nil { p.standardInput = inPipe }
        try p.run()
        if let input {
            inPipe.fileHandleForWriting.write(input)
            try inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Polls a condition until it holds or the timeout passes. The default deadline is generous: a
/// condition that holds returns at once, and a loaded 2-core machine can be slow by many seconds.
public func eventually(timeout: Double = 30, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// `eventually` for async tests: sleeps with `Task.sleep`, so the cooperative thread it runs on is
/// free for the tasks the condition waits for (a blocking poll can starve them on 2 cores).
public func eventuallyAsync(timeout: Double = 30, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Tries `attempt` until it returns a value or the timeout passes, sleeping `every` in between
/// (with `Task.sleep`, so the thread is free meanwhile); the last attempt's value, nil if none came.
/// Errors of an attempt are thrown: a store that fails is a failed test, not a slow one.
public func firstValue<T>(timeout: Double = 60, every: Duration = .milliseconds(100),
                          _ attempt: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
    while ContinuousClock.now < deadline {
        if let value = try await attempt() { return value }
        try await Task.sleep(for: every)
    }
    return try await attempt()
}
