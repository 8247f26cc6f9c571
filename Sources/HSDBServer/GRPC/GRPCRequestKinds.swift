import QdrantAPI

/// The fields every point write shares, which become the REST route's query parameters.
protocol GRPCWriteRequest {
    var collectionName: String { get }
    var wait: Bool { get }
    var hasWait: Bool { get }
    var ordering: Qdrant_WriteOrdering { get }
    var hasOrdering: Bool { get }
    var timeout: UInt64 { get }
    var hasTimeout: Bool { get }
}

extension GRPCWriteRequest {
    /// `?wait=..&ordering=..&timeout=..`, with what the client set.
    var restQuery: String {
        GRPCSelectors.writeQuery(wait: hasWait ? wait : nil, ordering: hasOrdering ? ordering : nil, timeout: hasTimeout ? timeout : nil)
    }
}

extension Qdrant_UpsertPoints: GRPCWriteRequest {}
extension Qdrant_DeletePoints: GRPCWriteRequest {}
extension Qdrant_UpdatePointVectors: GRPCWriteRequest {}
extension Qdrant_DeletePointVectors: GRPCWriteRequest {}
extension Qdrant_SetPayloadPoints: GRPCWriteRequest {}
extension Qdrant_DeletePayloadPoints: GRPCWriteRequest {}
extension Qdrant_ClearPayloadPoints: GRPCWriteRequest {}
extension Qdrant_CreateFieldIndexCollection: GRPCWriteRequest {}
extension Qdrant_DeleteFieldIndexCollection: GRPCWriteRequest {}
extension Qdrant_UpdateBatchPoints: GRPCWriteRequest {}

/// The fields every point read shares, which become the REST route's query parameters.
protocol GRPCReadRequest {
    var collectionName: String { get }
    var timeout: UInt64 { get }
    var hasTimeout: Bool { get }
    var readConsistency: Qdrant_ReadConsistency { get }
    var hasReadConsistency: Bool { get }
}

extension GRPCReadRequest {
    /// `?timeout=..&consistency=..`, with what the client set.
    var restQuery: String {
        GRPCSelectors.readQuery(timeout: hasTimeout ? timeout : nil, consistency: hasReadConsistency ? readConsistency : nil)
    }
}

extension Qdrant_GetPoints: GRPCReadRequest {}
extension Qdrant_ScrollPoints: GRPCReadRequest {}
extension Qdrant_CountPoints: GRPCReadRequest {}
extension Qdrant_FacetCounts: GRPCReadRequest {}
extension Qdrant_SearchPoints: GRPCReadRequest {}
extension Qdrant_SearchBatchPoints: GRPCReadRequest {}
extension Qdrant_SearchPointGroups: GRPCReadRequest {}
extension Qdrant_RecommendPoints: GRPCReadRequest {}
extension Qdrant_RecommendBatchPoints: GRPCReadRequest {}
extension Qdrant_RecommendPointGroups: GRPCReadRequest {}
extension Qdrant_DiscoverPoints: GRPCReadRequest {}
extension Qdrant_DiscoverBatchPoints: GRPCReadRequest {}
extension Qdrant_QueryPoints: GRPCReadRequest {}
extension Qdrant_QueryBatchPoints: GRPCReadRequest {}
extension Qdrant_QueryPointGroups: GRPCReadRequest {}
extension Qdrant_SearchMatrixPoints: GRPCReadRequest {}
