import Foundation
import Testing
import TestSupport
import Yams

/// The container files, the compose file and the Kubernetes manifest, checked by what runs here:
/// no container engine can build or start them on this machine, so each is parsed, every file it
/// references must exist, the configurations it ships pass the binaries' own check-config, and the
/// runtime images install exactly the shared libraries the binaries link.
@Suite struct ContainerAndClusterTests {
    static let deploy = packageRoot.appendingPathComponent("deploy")

    static func binary(_ name: String) -> String { packageRoot.appendingPathComponent(".build/debug/\(name)").path }

    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try DeployTools.run(path, arguments)
    }

    /// `check-config` of one of the binaries on a configuration text.
    static func checkConfig(_ binary: String, _ text: String) throws -> (status: Int32, output: String) {
        let dir = try TemporaryDirectory.make(prefix: "deploy-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("config.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try run(Self.binary(binary), ["check-config", path])
    }

    /// The packages the runtime stage installs (the apt-get line after the last FROM).
    static func runtimePackages(_ containerfile: String) -> Set<String> {
        let runtime = containerfile.components(separatedBy: "\nFROM ").last ?? ""
        let joined = runtime.replacingOccurrences(of: "\\\n", with: " ")
        guard let line = joined.split(separator: "\n").first(where: { $0.contains("apt-get install") }) else { return [] }
        let words = line.split(separator: " ").map(String.init)
        guard let start = words.firstIndex(of: "--no-install-recommends") else { return [] }
        return Set(words[(start + 1)...].prefix { $0 != "&&" })
    }

    @Test(arguments: ["millwright-edge", "millwright-central"])
    func theRuntimeImageInstallsEveryLibraryTheBinaryLinks(name: String) throws {
        let file = Self.deploy.appendingPathComponent("container/\(name.replacingOccurrences(of: "millwright-", with: "")).Containerfile").path
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let installed = Self.runtimePackages(text)
        #expect(installed.contains("libmosquitto1") && installed.contains("libsqlite3-0"), "\(installed)")
        #expect(text.contains("USER 10001") && text.contains("--static-swift-stdlib --product \(name)"))
        // What the binary links, less the Swift runtime (static in the release build the image makes).
        let ldd = try Self.run("/usr/bin/ldd", [Self.binary(name)]).output
        var needed: Set<String> = []
        for line in ldd.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 3, parts[1] == "=>", !line.contains("swift"), !line.contains("Foundation"),
                  !line.contains("dispatch"), !line.contains("BlocksRuntime") else { continue }
            // dpkg knows a library by the path it installed (usrmerge: /lib or /usr/lib, the link or its target).
            let path = String(parts[2])
            let candidates = [path, URL(fileURLWithPath: path).resolvingSymlinksInPath().path]
            let owner = try candidates.lazy.map { try Self.run("/usr/bin/dpkg", ["-S", $0]) }.first { $0.status == 0 }
            needed.insert(owner?.output.split(separator: ":").first.map(String.init) ?? "no package owns \(path)")
        }
        #expect(!needed.isEmpty)
        #expect(needed.subtracting(installed).isEmpty, "\(name) links packages its runtime image lacks: \(needed.subtracting(installed).sorted())")
    }

    @Test func theComposeFileReferencesWhatExistsAndShipsValidConfigurations() throws {
        let dir = Self.deploy.appendingPathComponent("compose")
        // The secrets the compose file mounts are made on the host first, never committed.
        let made = try Self.run(dir.appendingPathComponent("make-secrets").path, [])
        #expect(made.status == 0, "\(made.output)")
        let compose = try #require(try Yams.load(yaml: String(contentsOf: dir.appendingPathComponent("compose.yaml"), encoding: .utf8)) as? [String: Any])
        let services = try #require(compose["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == ["plant-broker", "central-broker", "postgres", "central-1", "central-2", "edge"])
        // The partitioned events table needs max_locks_per_transaction = 512 (central/README.md, "store").
        #expect((services["postgres"]?["command"] as? [String])?.contains("max_locks_per_transaction=512") == true)
        for (name, service) in services {
            if let build = service["build"] as? [String: Any], let context = build["context"] as? String, let file = build["dockerfile"] as? String {
                let root = dir.appendingPathComponent(context).standardizedFileURL
                #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path), "\(name): \(file)")
                #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path), "\(name): context \(context)")
            }
            for volume in service["volumes"] as? [String] ?? [] where volume.hasPrefix("./") || volume.hasPrefix("../") {
                let source = String(volume.split(separator: ":")[0])
                #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(source).path), "\(name) mounts \(source)")
            }
        }
        // Each replica's configuration, with the paths it names inside the container replaced by the
        // files the compose file mounts there: a secret it reads must be mounted.
        func asMounted(_ name: String, _ file: String) throws -> String {
            var text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            for volume in services[name]?["volumes"] as? [String] ?? [] where volume.hasPrefix("./") {
                let parts = volume.split(separator: ":").map(String.init)
                text = text.replacingOccurrences(of: parts[1], with: dir.appendingPathComponent(parts[0]).standardizedFileURL.path)
            }
            return text
        }
        var clientIDs: Set<String> = []
        for name in ["central-1", "central-2"] {
            let text = try asMounted(name, "\(name).yaml")
            let check = try Self.checkConfig("millwright-central", text)
            #expect(check.status == 0, "\(name): \(check.output)")
            #expect(check.output.contains("store postgresql://millwright@postgres:5432/millwright"), "\(check.output)")
            if let id = text.split(separator: "\n").first(where: { $0.contains("client_id:") }) { clientIDs.insert(String(id)) }
            #expect(services[name]?["read_only"] as? Bool == true)
        }
        #expect(clientIDs.count == 2, "each replica needs its own client_id")
        let edge = try Self.checkConfig("millwright-edge", asMounted("edge", "edge.yaml"))
        #expect(edge.status == 0, "\(edge.output)")
        #expect(services["edge"]?["read_only"] as? Bool == true)
    }

    /// The parts of a manifest: its documents by kind, the embedded configuration, the pod spec.
    static func manifest(_ file: String) throws -> (docs: [String: [String: Any]], config: String, set: [String: Any], pod: [String: Any]) {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("kubernetes/\(file)"), encoding: .utf8)
        var docs: [String: [String: Any]] = [:]
        for doc in try Yams.load_all(yaml: text).compactMap({ $0 as? [String: Any] }) {
            if let kind = doc["kind"] as? String { docs[kind] = doc }
        }
        let configMap = try #require(docs["ConfigMap"])
        let embedded = try #require((configMap["data"] as? [String: String])?["central.yaml"])
        let set = try #require(docs["StatefulSet"]?["spec"] as? [String: Any])
        let pod = try #require((set["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["readOnlyRootFilesystem"] as? Bool == true && security["allowPrivilegeEscalation"] as? Bool == false)
        #expect(((security["capabilities"] as? [String: Any])?["drop"] as? [String]) == ["ALL"])
        let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        #expect(mounts.contains("/var/lib/millwright-central") && embedded.contains("data_dir: /var/lib/millwright-central"),
                "data_dir must be a mounted volume: the root file system is read-only")
        return (docs, embedded, set, pod)
    }

    @Test func theSQLiteKubernetesManifestIsOneHardenedReplicaWithAValidConfiguration() throws {
        let m = try Self.manifest("central-sqlite.yaml")
        #expect(Set(m.docs.keys) == ["ConfigMap", "StatefulSet"])
        let check = try Self.checkConfig("millwright-central", m.config)
        #expect(check.status == 0, "\(check.output)")
        #expect(m.set["replicas"] as? Int == 1, "SQLite has one writer: exactly one replica")
        #expect(((m.set["volumeClaimTemplates"] as? [[String: Any]]) ?? []).count == 1, "the SQLite file needs a persistent volume")
    }

    @Test func theKubernetesReplicasShareOneConfigurationWithAnIDPerPod() throws {
        let m = try Self.manifest("central.yaml")
        #expect(Set(m.docs.keys) == ["ConfigMap", "StatefulSet", "PodDisruptionBudget"])
        let replicas = try #require(m.set["replicas"] as? Int)
        #expect(replicas >= 2)
        let minAvailable = try #require((m.docs["PodDisruptionBudget"]?["spec"] as? [String: Any])?["minAvailable"] as? Int)
        #expect(minAvailable >= 1 && minAvailable < replicas)
        // The secret's mount path, replaced by a file, as the pod would see it.
        let volumes = try #require(m.pod["volumes"] as? [[String: Any]])
        #expect(volumes.contains { ($0["secret"] as? [String: Any])?["secretName"] as? String == "millwright-central-postgres" })
        let secret = try TemporaryDirectory.make(prefix: "k8s-secret").appendingPathComponent("password")
        try "s3cret\n".write(to: secret, atomically: true, encoding: .utf8)
        // The pod's broker password: one key per pod name in its secret, read by host name.
        let brokerSecrets = try TemporaryDirectory.make(prefix: "k8s-broker")
        try "pod-password\n".write(to: brokerSecrets.appendingPathComponent(ProcessInfo.processInfo.hostName), atomically: true, encoding: .utf8)
        let config = m.config.replacingOccurrences(of: "/etc/millwright-secrets/password", with: secret.path)
            .replacingOccurrences(of: "/etc/millwright-broker/", with: brokerSecrets.path + "/")
        #expect(volumes.contains { ($0["secret"] as? [String: Any])?["secretName"] as? String == "millwright-central-broker" })
        #expect(config != m.config, "the configuration reads the mounted secret")
        let check = try Self.checkConfig("millwright-central", config)
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("store postgresql://millwright@postgres:5432/millwright"), "\(check.output)")
        // One file for every pod, yet one MQTT session per pod, stable across its restarts.
        #expect(config.contains(#"client_id: "{hostname}""#) && config.contains(#"username: "{hostname}""#)
                && config.contains("shared_subscription:"))
        #expect(m.docs["StatefulSet"] != nil, "stable pod names keep each pod's client id across restarts")
    }
}
