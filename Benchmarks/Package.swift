// swift-tools-version:6.0
// hsdb's benchmarks: a package of their own so the main build and tests stay fast.
// Build release and run through ./run-ingest.sh, which also runs the peers in the same run.
import PackageDescription

let package = Package(
    name: "hsdb-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The root package, reached through a link named "hsdb" that run-ingest.sh makes, so its
        // identity does not depend on the name of the directory the repository was cloned into.
        .package(path: ".deps/hsdb"),
        // GRPCBench's client: the same grpc-swift 2 and transport the server uses.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
    ],
    targets: [
        .executableTarget(name: "IngestBench", dependencies: [.product(name: "HSDB", package: "hsdb")]),
        .executableTarget(name: "IndexBench", dependencies: [.product(name: "Index", package: "hsdb")]),
        .executableTarget(name: "JSONBench", dependencies: [.product(name: "HSDB", package: "hsdb")]),
        .executableTarget(name: "GRPCBench", dependencies: [
            .product(name: "QdrantAPI", package: "hsdb"), .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
    ]
)
