import HSDBCore
import QdrantAPI
import SwiftProtobuf

/// The gRPC request decoding on arbitrary bytes, for the `grpc-request` fuzz target: the bytes
/// as every request message hsdb answers, and a `CreateCollection` on through its conversion
/// to REST's body and REST's decoder. Properties: nothing crashes or hangs; decoders only
/// accept or throw; a decoded message written back decodes to the same message.
public enum GRPCRequestFuzzing {
    public static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        roundTrip(Qdrant_HealthCheckRequest.self, bytes)
        roundTrip(Qdrant_ListCollectionsRequest.self, bytes)
        roundTrip(Qdrant_CollectionExistsRequest.self, bytes)
        roundTrip(Qdrant_GetCollectionInfoRequest.self, bytes)
        roundTrip(Qdrant_DeleteCollection.self, bytes)
        guard let create = roundTrip(Qdrant_CreateCollection.self, bytes),
              let body = try? GRPCCreateCollection.body(of: create),
              let fields = try? JSONFields(body, path: "") else { return }
        _ = try? CollectionSpec.config(from: fields)
    }

    /// Seeds: valid messages as a client sends them.
    public static func seeds() -> [[UInt8]] {
        var single = Qdrant_CreateCollection()
        single.collectionName = "c"
        single.vectorsConfig.params.size = 4
        single.vectorsConfig.params.distance = .cosine
        single.hnswConfig.m = 8
        single.walConfig.walCapacityMb = 32
        var named = Qdrant_CreateCollection()
        named.collectionName = "n"
        var a = Qdrant_VectorParams()
        a.size = 3
        a.distance = .dot
        named.vectorsConfig.paramsMap.map = ["a": a]
        named.sparseVectorsConfig.map = ["s": Qdrant_SparseVectorParams()]
        named.shardNumber = 2
        var delete = Qdrant_DeleteCollection()
        delete.collectionName = "c"
        delete.timeout = 5
        let messages: [any SwiftProtobuf.Message] = [single, named, delete]
        return messages.compactMap { try? $0.serializedBytes() }
    }

    @discardableResult
    static func roundTrip<M: SwiftProtobuf.Message & Equatable>(_ type: M.Type, _ bytes: [UInt8]) -> M? {
        guard let message = try? M(serializedBytes: bytes) else { return nil }
        guard let again = try? M(serializedBytes: message.serializedBytes() as [UInt8]) else {
            fatalError("grpc-request: a decoded \(M.self) written back does not decode")
        }
        precondition(again == message, "grpc-request: a \(M.self) written back decodes to another message")
        return message
    }
}
