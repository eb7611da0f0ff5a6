// swift-tools-version: 6.1
import PackageDescription

// Targets are split by concern so a change rebuilds little:
// C wrapper -> MQTT client -> core model -> rules -> config -> agent -> executables.
let package = Package(
    name: "millwright",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "millwright-edge", targets: ["millwright-edge"]),
        .executable(name: "millwright-central", targets: ["millwright-central"]),
        .executable(name: "millwright-bench", targets: ["millwright-bench"]),
        // libFuzzer targets, built with -sanitize=fuzzer by scripts/fuzz (a plain build makes stubs).
        .executable(name: "fuzz-batch-decoder", targets: ["fuzz-batch-decoder"]),
        .executable(name: "fuzz-payload-decoder", targets: ["fuzz-payload-decoder"]),
        .executable(name: "fuzz-config", targets: ["fuzz-config"]),
    ],
    dependencies: [
        // Every version exact (issue 23): Package.resolved is not kept (the package copies this project
        // builds from carry other commit ids than their public origins), so `exact:` here and the
        // transitive versions in Package.versions (checked by scripts/check-dependencies and
        // DependencyPinTests) are what makes two builds of one commit the same. README, "Moving a
        // dependency", says how to change one.
        // Command-line parsing of both binaries. Each version below: the release this one was built and
        // tested with (the newest in the package copies here when pinned), unless the line says more.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        // Logging API, shared with every library below.
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        // Service groups: graceful shutdown on SIGTERM, a failed service ends the process.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        // YAML with node marks (file:line:column in config errors).
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        // SQLite: the edge's outbox, the central's embedded store; 7.x is the Swift 6 line.
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // HTTP to Tryton and HTTP targets (`HTTPClient.shared`).
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        // Property tests (rules, outbox), on swift-testing.
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
        // The central's shared PostgreSQL backend.
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // NIOCore/NIOHTTP1, imported by the HTTP connectors; the version async-http-client 1.37 and
        // postgres-nio 1.33 resolve to, stated so it cannot move under them.
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
    ],
    targets: [
        // libmosquitto, behind one small module map.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // zlib, for the central's event archive (gzip'd JSON lines).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Safe Swift 6 MQTT client over libmosquitto.
        .target(
            name: "MQTTClient",
            dependencies: ["CMosquitto", .product(name: "Logging", package: "swift-log")]
        ),
        // The canonical model shared by edge and central: envelope, values, priority classes.
        .target(name: "MillwrightCore"),
        // Threshold rules: pure, deterministic, no I/O.
        .target(name: "EdgeRules", dependencies: ["MillwrightCore"]),
        // Reading YAML with every error located (file, line, column, path); shared by edge and central configs.
        .target(
            name: "ConfigSupport",
            dependencies: ["MillwrightCore", "MQTTClient", .product(name: "Yams", package: "Yams")]
        ),
        // The edge configuration for field engineers: brokers, sensors, decoding, rule templates.
        .target(
            name: "EdgeConfig",
            dependencies: ["ConfigSupport", "EdgeRules", "MillwrightCore", "MQTTClient", .product(name: "Yams", package: "Yams")]
        ),
        // The edge agent: ingest pipeline, rule state store, services, replay, simulator.
        .target(
            name: "EdgeAgent",
            dependencies: [
                "ConfigSupport", "EdgeConfig", "EdgeRules", "MillwrightCore", "MQTTClient",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "millwright-edge",
            dependencies: [
                "ConfigSupport", "EdgeAgent", "EdgeConfig", "MQTTClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The central's ingest: config, deduplicating store, batch validation, acknowledgements.
        .target(
            name: "CentralIngest",
            dependencies: [
                "ConfigSupport", "CZlib", "MillwrightCore", "MQTTClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The central's PostgreSQL backend (postgres-nio): the same seams as the SQLite one, for replicas.
        .target(
            name: "CentralPostgres",
            dependencies: [
                "CentralIngest", "CentralSync", "MillwrightCore", "Reconciliation",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The central's SQLite backend (GRDB): the embedded file behind the same seams, for one central process.
        .target(
            name: "CentralSQLite",
            dependencies: [
                "CentralIngest", "CentralSync", "MillwrightCore", "Reconciliation",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Reconciliation, pure: attribution by event time, cadence tiers, the ledger, posting decisions.
        .target(name: "Reconciliation", dependencies: ["MillwrightCore"]),
        // The central's synchronisation: ERP master data, assignments, the reconcile pass, the postings
        // outbox (retries, breaker, dead letters, replay), planning snapshots, trace; connectors behind a protocol.
        .target(
            name: "CentralSync",
            dependencies: [
                "CentralIngest", "ConfigSupport", "MillwrightCore", "MQTTClient", "Reconciliation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // HTTP connectors: Tryton JSON-RPC and a generic HTTP JSON target (async-http-client).
        .target(
            name: "ERPConnectors",
            dependencies: [
                "CentralSync", "MillwrightCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "millwright-central",
            dependencies: [
                "CentralIngest", "CentralPostgres", "CentralSQLite", "CentralSync", "ConfigSupport", "ERPConnectors", "MillwrightCore", "MQTTClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Benchmark drivers for bench/ scripts: not shipped.
        .executableTarget(
            name: "millwright-bench",
            dependencies: [
                "CentralIngest", "CentralPostgres", "CentralSQLite", "CentralSync", "EdgeAgent", "EdgeConfig", "MillwrightCore", "MQTTClient", "Reconciliation",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "FuzzSupport"),
        .executableTarget(name: "fuzz-batch-decoder", dependencies: ["CentralIngest", "FuzzSupport"]),
        .executableTarget(name: "fuzz-payload-decoder", dependencies: ["EdgeAgent", "EdgeConfig", "FuzzSupport", "MillwrightCore"]),
        .executableTarget(name: "fuzz-config", dependencies: ["CentralIngest", "CentralSync", "EdgeConfig", "FuzzSupport"]),
        .testTarget(name: "MQTTClientTests", dependencies: ["MQTTClient", "TestSupport"]),
        .testTarget(
            name: "EdgeRulesTests",
            dependencies: ["EdgeRules", "MillwrightCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(name: "EdgeConfigTests", dependencies: ["EdgeConfig", "ConfigSupport"]),
        .testTarget(name: "CentralIngestTests", dependencies: ["CentralIngest", "CentralSQLite", "EdgeAgent", "MillwrightCore", "TestSupport"]),
        // Store seams, one contract per concern, run on SQLite and on a PostgreSQL the tests start.
        .testTarget(
            name: "CentralStoreTests",
            dependencies: [
                "CentralIngest", "CentralPostgres", "CentralSQLite", "CentralSync", "MillwrightCore", "TestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // With the edge's counter rule: attribution at a changeover, edge and central together.
        .testTarget(name: "ReconciliationTests", dependencies: ["Reconciliation", "EdgeRules", "MillwrightCore"]),
        // deploy/ checked by the tools that read it (systemd-analyze).
        .testTarget(name: "DeployTests", dependencies: ["TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "CentralSyncTests",
            dependencies: [
                "CentralIngest", "CentralPostgres", "CentralSQLite", "CentralSync", "EdgeRules", "ERPConnectors", "MillwrightCore", "Reconciliation", "TestSupport",
            ]
        ),
        .testTarget(
            name: "EdgeAgentTests",
            dependencies: [
                "EdgeAgent", "EdgeConfig", "MQTTClient", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Shared fixtures: a real mosquitto broker on a free port, temp dirs.
        .target(name: "TestSupport", dependencies: ["EdgeAgent", "MillwrightCore"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v6]
)
