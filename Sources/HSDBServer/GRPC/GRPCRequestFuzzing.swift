import HSDBCore
import QdrantAPI
import SwiftProtobuf

/// The gRPC request decoding on arbitrary bytes, for the `grpc-request` fuzz target: the bytes
/// as the request messages hsdb answers, each on through its conversion to the REST body
/// (and, for a collection's creation and a filter, REST's decoder). Properties: nothing
/// crashes or hangs; decoders and conversions only accept or throw; a decoded message
/// written back decodes to the same message.
public enum GRPCRequestFuzzing {
    public static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        points(bytes)
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

    /// The points service's requests, through their conversions to REST bodies.
    static func points(_ bytes: [UInt8]) {
        if let m = roundTrip(Qdrant_UpsertPoints.self, bytes) { _ = try? m.points.map(GRPCPointsService.point) }
        if let m = roundTrip(Qdrant_QueryPoints.self, bytes) { _ = try? GRPCQueries.body(m) }
        if let m = roundTrip(Qdrant_QueryPointGroups.self, bytes) { _ = try? GRPCQueries.groupsBody(m) }
        if let m = roundTrip(Qdrant_SearchPoints.self, bytes) { _ = try? GRPCPointRequests.search(m) }
        if let m = roundTrip(Qdrant_RecommendPoints.self, bytes) { _ = try? GRPCPointRequests.recommend(m) }
        if let m = roundTrip(Qdrant_DiscoverPoints.self, bytes) { _ = try? GRPCPointRequests.discover(m) }
        if let m = roundTrip(Qdrant_UpdateBatchPoints.self, bytes) { _ = try? m.operations.map(GRPCBatchOperations.json) }
        if let m = roundTrip(Qdrant_CreateFieldIndexCollection.self, bytes), m.hasFieldIndexParams {
            _ = try? GRPCSelectors.indexSchema(m.fieldIndexParams)
        }
        if let m = roundTrip(Qdrant_UpdateCollection.self, bytes) { _ = try? GRPCUpdateCollection.body(of: m) }
        if let m = roundTrip(Qdrant_ScrollPoints.self, bytes), m.hasFilter, let f = try? GRPCFilters.filter(m.filter) {
            _ = try? FilterDecoding.filter(f, path: "filter")
        }
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
        var upsert = Qdrant_UpsertPoints()
        upsert.collectionName = "c"
        var point = Qdrant_PointStruct()
        point.id.num = 7
        point.vectors.vector.dense.data = [1, 0, 0, 0]
        point.payload = ["tag": GRPCValues.value("a"), "n": GRPCValues.value(3)]
        upsert.points = [point]
        var query = Qdrant_QueryPoints()
        query.collectionName = "c"
        query.query.nearest.dense.data = [1, 0, 0, 0]
        var condition = Qdrant_Condition()
        condition.field.key = "tag"
        condition.field.match.keyword = "a"
        query.filter.must = [condition]
        query.limit = 3
        let messages: [any SwiftProtobuf.Message] = [single, named, delete, upsert, query]
        return messages.compactMap { try? $0.serializedBytes() }
    }

    @discardableResult
    static func roundTrip<M: SwiftProtobuf.Message & Equatable>(_ type: M.Type, _ bytes: [UInt8]) -> M? {
        guard let message = try? M(serializedBytes: bytes) else { return nil }
        guard let again = try? M(serializedBytes: message.serializedBytes() as [UInt8]) else {
            fatalError("grpc-request: a decoded \(M.self) written back does not decode")
        }
        // NaN is not equal to itself: a float field holding one (a score threshold) compares
        // unequal however faithfully it round-trips, so such a message is compared by its bytes.
        let same = again == message
            || (try? again.serializedBytes() as [UInt8]) == (try? message.serializedBytes() as [UInt8])
        precondition(same, "grpc-request: a \(M.self) written back decodes to another message")
        return message
    }
}
