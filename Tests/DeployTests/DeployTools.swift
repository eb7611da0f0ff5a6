import Foundation

/// Runs the tools the deploy checks use (systemd-analyze, ldd, dpkg, the binaries' check-config).
enum DeployTools {
    /// Runs `path` with `arguments`; stdout and stderr together.
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
