import Foundation
import Synchronization

/// Every REST response since the server started, by route, status and collection: the one
/// record behind `/telemetry`'s `requests.rest` and `/metrics`' `rest_responses_*` families.
///
/// A response is recorded under one key; the route's figures over all collections are merged
/// when asked for, so recording costs one short lock and no aggregation.
final class RouteStatistics: Sendable {
    struct Key: Hashable, Sendable {
        let method: String
        /// The route's pattern as Hummingbird names it (`/collections/{collection}/points`).
        let route: String
        let status: Int
        /// The collection named in the path (nil for routes without one, and past the cap).
        let collection: String?
    }

    /// At most this many distinct collection names are kept apart: names come from request
    /// paths, so requests to made-up collections must not grow the record without bound.
    /// Responses past the cap are recorded without a collection.
    static let maxCollections = 1000

    private struct State {
        var entries: [Key: ResponseStatistics] = [:]
        var collections: Set<String> = []
    }

    private let state = Mutex(State())

    func record(method: String, route: String, status: Int, collection: String?, nanoseconds: UInt64, respondedAt: Double) {
        state.withLock { s in
            var kept = collection
            if let name = collection, !s.collections.contains(name) {
                if s.collections.count < Self.maxCollections { s.collections.insert(name) } else { kept = nil }
            }
            let key = Key(method: method, route: route, status: status, collection: kept)
            s.entries[key, default: ResponseStatistics()].add(nanoseconds: nanoseconds, respondedAt: respondedAt)
        }
    }

    /// Responses by Qdrant's endpoint name (`PUT /collections/{collection_name}/points`) and
    /// status, over all collections.
    func byEndpoint() -> [String: [Int: ResponseStatistics]] {
        var result: [String: [Int: ResponseStatistics]] = [:]
        for (key, stats) in snapshot() {
            result[Self.endpointName(key), default: [:]][key.status, default: ResponseStatistics()].merge(stats)
        }
        return result
    }

    /// Responses by collection, then endpoint name and status; routes without a collection
    /// are left out.
    func byCollection() -> [String: [String: [Int: ResponseStatistics]]] {
        var result: [String: [String: [Int: ResponseStatistics]]] = [:]
        for (key, stats) in snapshot() {
            guard let collection = key.collection else { continue }
            result[collection, default: [:]][Self.endpointName(key), default: [:]][key.status, default: ResponseStatistics()].merge(stats)
        }
        return result
    }

    private func snapshot() -> [Key: ResponseStatistics] { state.withLock { $0.entries } }

    /// `METHOD /pattern`, Qdrant's name for a REST endpoint; a gRPC method (no HTTP method) by
    /// its path, `/qdrant.Collections/List`.
    static func endpointName(_ key: Key) -> String { key.method.isEmpty ? key.route : key.method + " " + qdrantPattern(key.route) }

    /// The route pattern with Qdrant's parameter names (`/collections/{collection_name}/points/{id}`,
    /// `.../index/{field_name}`, `.../snapshots/{snapshot_name}`), so label filters and
    /// telemetry keys written for Qdrant match.
    static func qdrantPattern(_ route: String) -> String {
        guard route.hasPrefix("/collections/") else { return route }
        return route.replacingOccurrences(of: "{collection}", with: "{collection_name}")
            .replacingOccurrences(of: "{field}", with: "{field_name}")
            .replacingOccurrences(of: "{snapshot}", with: "{snapshot_name}")
    }
}
