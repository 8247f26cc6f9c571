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
    ],
    targets: [
        .executableTarget(name: "IngestBench", dependencies: [.product(name: "HSDB", package: "hsdb")]),
        .executableTarget(name: "IndexBench", dependencies: [.product(name: "Index", package: "hsdb")]),
        .executableTarget(name: "JSONBench", dependencies: [.product(name: "HSDB", package: "hsdb")]),
    ]
)
