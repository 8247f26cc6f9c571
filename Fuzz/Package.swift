// swift-tools-version:6.0
// hsdb's libFuzzer drivers: a package of their own, because they are built with
// -sanitize=fuzzer,address and must never be part of the normal build. The target bodies live
// in the main package (Sources/FuzzTargets), reached through the link .deps/hsdb that run.sh makes.
import PackageDescription

let package = Package(
    name: "hsdb-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: ".deps/hsdb")],
    targets: [
        .executableTarget(name: "FuzzDriver", dependencies: [.product(name: "FuzzTargets", package: "hsdb")]),
    ]
)
