// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Conflux",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "conflux", targets: ["conflux"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
    ],
    targets: [
        // System libraries from Debian (liblua5.4-dev, libcurl4-openssl-dev, libsqlite3-dev), found with pkg-config.
        .systemLibrary(name: "CLua54", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite3", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // Lua's macros as functions, and every piece of Lua-facing code that may raise a Lua error (see clua.h).
        .target(
            name: "CLuaShim",
            dependencies: ["CLua54"],
            cSettings: [.unsafeFlags(["-I/usr/include/lua5.4", "-O2"])]
        ),

        // The Lua plugin host: states, sandbox, limits, marshalling, host modules, async host calls, plugin tests.
        // Knows nothing of HTTP or SQL.
        .target(
            name: "LuaRuntime",
            dependencies: [
                "CLuaShim", "Formats", "Executors",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // The durable queue behind a protocol (messages, attempts, dead letters, idempotency keys), with an in-memory
        // backend for tests; one target per backend.
        .target(name: "Store"),
        .target(name: "StoreSQLite", dependencies: [
            "Store", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // Flows, routing and the ingest path: what turns a partner's request into a durable message, and a message
        // into plugin invocations. Knows the store only through its protocol.
        .target(
            name: "Pipeline",
            dependencies: [
                "Store", "LuaRuntime", "Formats", .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Serial executors backed by dedicated threads (where plugin states run when no event loop hosts them).
        .target(name: "Executors"),
        // libcurl's variadic setopt/getinfo calls as typed C functions, prefixed `ccurl_` (see ccurl_shim.h).
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        // Outbound HTTP(S) on libcurl's multi interface, driven from event-loop threads that are also the executors
        // plugin states run on. Knows nothing of Lua, plugins or the catalog: policy (egress, secrets) is passed in.
        .target(name: "HTTPTransport", dependencies: ["CCurlShim", "Executors", .product(name: "Logging", package: "swift-log")]),

        // Secrets sealed at rest (AES-GCM under a master key) and revealed only to the transport at send time.
        .target(name: "Secrets", dependencies: ["Store", .product(name: "Crypto", package: "swift-crypto")]),

        // Plugins' outbound calls: the per-plugin egress policy (from the catalog) in front of the HTTP client.
        .target(name: "Egress", dependencies: ["HTTPTransport", "LuaRuntime", "Secrets", "Executors", .product(name: "Yams", package: "Yams")]),

        // The catalog: manifests, validation, the governance lifecycle, what each environment may run, folder hashes.
        .target(name: "Catalog", dependencies: [
            "Pipeline", "Egress", "Store", "LuaRuntime", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams"),
        ]),

        // Healthcare wire formats parsed strictly in Swift (X12 5010 today), with errors naming segment and element.
        .target(name: "Formats"),

        // Stand-ins for partner systems (Odoo, a payment gateway, a claims clearinghouse) that speak their real
        // protocols with synthetic data and injected faults: `conflux simulate …`, the tests and the demo.
        .target(name: "Simulators", dependencies: [
            "Formats", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        .target(name: "WebhookAuth", dependencies: ["Formats", .product(name: "Crypto", package: "swift-crypto")]),

        // The HTTP side: ingress and (later) the admin API, on Hummingbird 2.
        .target(
            name: "Server",
            dependencies: [
                "Pipeline", "Store", "WebhookAuth", "Formats", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .executableTarget(
            name: "conflux",
            dependencies: [
                "LuaRuntime", "Pipeline", "Server", "Store", "StoreSQLite", "Egress", "HTTPTransport", "Secrets", "Catalog", "Simulators",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        .testTarget(name: "LuaRuntimeTests", dependencies: ["LuaRuntime"]),
        .testTarget(
            name: "HTTPTransportTests",
            dependencies: [
                "HTTPTransport", "Executors", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "EgressTests",
            dependencies: ["Egress", "HTTPTransport", "LuaRuntime", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(name: "SecretsTests", dependencies: ["Secrets", "Store", "StoreSQLite", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "StoreSQLite", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Store"]),
        .testTarget(name: "WebhookAuthTests", dependencies: ["WebhookAuth", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats"], exclude: ["Fixtures"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "Pipeline", "Store"]),
        .testTarget(
            name: "ConfluxCLITests",
            dependencies: [
                "LuaRuntime", "Catalog", "conflux", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
