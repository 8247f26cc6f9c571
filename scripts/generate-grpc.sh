#!/usr/bin/env bash
# Regenerates Sources/QdrantAPI/ (the Swift code of Protos/*.proto, Qdrant's gRPC contract)
# with protoc and the two Swift plugins, built here from the package mirror's swift-protobuf and
# grpc-swift-protobuf at the versions Package.swift uses. The generator is not part of the
# normal build: run this only after changing a .proto file, and commit what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { sudo apt-get install -y protobuf-compiler || apt-get install -y protobuf-compiler; }
tools=.build-grpc-gen
if [ ! -x "$tools/grpc-swift-protobuf/.build/release/protoc-gen-grpc-swift-2" ]; then
    mkdir -p "$tools"
    [ -d "$tools/grpc-swift-protobuf" ] || git clone -q https://github.com/grpc/grpc-swift-protobuf.git "$tools/grpc-swift-protobuf"
    (cd "$tools/grpc-swift-protobuf" && git checkout -q 2.4.1 \
        && swift build -c release --product protoc-gen-grpc-swift-2 \
        && swift build -c release --product protoc-gen-swift)
fi
bin="$tools/grpc-swift-protobuf/.build/release"
out=Sources/QdrantAPI
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
protoc --proto_path=Protos \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --swift_out="$out" --swift_opt=Visibility=Public \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Public,Client=false,Server=true \
    Protos/*.proto
echo "generated: $(ls "$out")"
