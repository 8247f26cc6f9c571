// swift-tools-version:6.0
// hsdb: a log-structured storage engine for vectors. Module graph, lowest first
// (a module imports only modules above it): CLZ4, CZlib, CCRC32C, CHamming -> HSDBCore -> Compression,
// WAL, Index, IPLD -> Segments -> HSDB -> Backup, Replication (and QdrantAPI, the generated gRPC code) -> HSDBServer -> hsdb. See DESIGN.md, "Modules".
import PackageDescription

let package = Package(
    name: "hsdb",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HSDB", targets: ["HSDB"]),
        .executable(name: "hsdb", targets: ["hsdb"]),
        // The distance kernels and HNSW on their own, for the benchmarks package.
        .library(name: "Index", targets: ["Index"]),
        // Qdrant's gRPC messages (generated from Protos/), for the benchmarks package's client.
        .library(name: "QdrantAPI", targets: ["QdrantAPI"]),
        // For the libFuzzer drivers in Fuzz/ (a package of their own); not an API.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        // SHA-256 of segment files (their content ids).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        // The HTTP server (SwiftNIO underneath) and its Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        // SwiftNIO itself (in Hummingbird's graph): the follower's HTTP client to its leader.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // Graceful shutdown of the server with its replication streams (in Hummingbird's graph).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Qdrant's gRPC API on port 6334: grpc-swift 2 over its NIO HTTP/2 transport, and the
        // protobuf runtime of the code generated from Protos/ (scripts/generate-grpc.sh).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        // C libraries reached through system-library shims; only Compression imports them.
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // CRC32C with the SSE4.2 instruction chosen at run time (Swift cannot reach the intrinsic
        // without pinning the target CPU), and a portable slice-by-8 fallback.
        .target(name: "CCRC32C"),
        // The Hamming scan kernels (block layout, fused top-k) with AVX-512 / AVX2 / portable
        // paths chosen at run time; only Index imports it.
        .target(name: "CHamming"),

        .target(name: "HSDBCore", dependencies: ["CCRC32C"]),
        .target(name: "Compression", dependencies: ["HSDBCore", "CLZ4", "CZlib"]),
        .target(name: "WAL", dependencies: [
            "HSDBCore", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        .target(name: "Index", dependencies: ["HSDBCore", "CHamming"]),
        .target(name: "Segments", dependencies: [
            "HSDBCore", "Compression", "Index", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "HSDB", dependencies: [
            "HSDBCore", "Compression", "WAL", "Index", "Segments",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HashTreeCollections", package: "swift-collections"),
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // The content-addressing codecs (varint, CID, DAG-CBOR, DAG-PB, UnixFS, CARv1): backup
        // archives and bootstrap snapshots are both DAGs of these blocks.
        .target(name: "IPLD", dependencies: ["HSDBCore", .product(name: "Crypto", package: "swift-crypto")]),
        // Backup archives (CARs of IPLD blocks) on top of HSDB.
        .target(name: "Backup", dependencies: [
            "HSDBCore", "HSDB", "IPLD", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Replication: WAL shipping with a running hash, bootstrap from snapshots, slots.
        .target(name: "Replication", dependencies: [
            "HSDBCore", "HSDB", "IPLD", .product(name: "Crypto", package: "swift-crypto"),
            // The follower's HTTP/1.1 client to its leader (SwiftNIO, as the server).
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Qdrant's gRPC messages and services, generated from Protos/ and committed.
        .target(name: "QdrantAPI", dependencies: [
            .product(name: "GRPCCore", package: "grpc-swift-2"), .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // The Qdrant-compatible REST API over the engine, and the gRPC API answered by it.
        .target(name: "HSDBServer", dependencies: [
            "HSDB", "HSDBCore", "IPLD", "Backup", "Replication", "QdrantAPI",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // `hsdb bench`: in a library of its own, so `hsdb-bench` (the recall test's release
        // build) links the engine without the server and its HTTP client.
        .target(name: "HSDBBench", dependencies: ["HSDB", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "hsdb-bench", dependencies: [
            "HSDBBench", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "hsdb", dependencies: [
            "HSDB", "HSDBServer", "Backup", "Replication", "HSDBBench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Test support: the fault-injecting file system, the crash-test child, the README example.
        .target(name: "HSDBTestSupport", dependencies: ["HSDBCore", "HSDB"]),
        .executableTarget(name: "CrashChild", dependencies: ["HSDB", "HSDBTestSupport"]),
        .executableTarget(name: "EmbeddedExample", dependencies: ["HSDB"]),
        // Fuzz target bodies; Fuzz/ drives them with libFuzzer, the tests replay their seeds.
        .target(name: "FuzzTargets", dependencies: ["HSDBCore", "WAL", "Index", "Segments", "HSDB", "HSDBServer", "HSDBTestSupport"]),

        .testTarget(name: "HSDBCoreTests", dependencies: ["HSDBCore", "Compression", "HSDBTestSupport"]),
        .testTarget(name: "WALTests", dependencies: ["WAL", "HSDBTestSupport"]),
        .testTarget(name: "IndexTests", dependencies: ["Index", "HSDBCore"]),
        .testTarget(name: "SegmentsTests", dependencies: ["Segments", "HSDBTestSupport"]),
        .testTarget(
            name: "HSDBTests", dependencies: ["HSDB", "HSDBTestSupport", "CrashChild", "EmbeddedExample"],
            exclude: ["Fixtures"]),  // read by path (#filePath), not bundled
        .testTarget(name: "FuzzTargetTests", dependencies: ["FuzzTargets", "HSDBCore"]),
        .testTarget(name: "IPLDTests", dependencies: ["IPLD", "HSDBCore"]),
        .testTarget(name: "BackupTests", dependencies: ["Backup", "IPLD", "HSDBCore", "HSDB", "HSDBTestSupport"]),
        .testTarget(name: "ReplicationTests", dependencies: [
            "Replication", "HSDBCore", "HSDB", "HSDBTestSupport", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "HSDBServerTests", dependencies: ["HSDBServer", "HSDB", "Replication", "HSDBTestSupport"]),
    ]
)
