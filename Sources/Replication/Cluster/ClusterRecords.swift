import Foundation

/// The value of `/hsdb/<cluster>/leader`, put under the leader's lease by the transaction
/// that elected it.
public struct ClusterLeader: Codable, Sendable, Equatable {
    public var name: String
    public var advertise: String
    public var epoch: UInt64
    /// The node's id (`NODE`), which names its slots on other nodes.
    public var nodeID: String

    enum CodingKeys: String, CodingKey {
        case name, advertise, epoch
        case nodeID = "node_id"
    }

    public init(name: String, advertise: String, epoch: UInt64, nodeID: String) {
        self.name = name
        self.advertise = advertise
        self.epoch = epoch
        self.nodeID = nodeID
    }
}

/// How far a node's copy goes: the highest epoch it has seen and, per collection, the LSN it
/// holds durably. An election prefers the most advanced.
public struct ClusterProgress: Codable, Sendable, Equatable {
    public var epoch: UInt64
    public var lsns: [String: UInt64]

    public init(epoch: UInt64, lsns: [String: UInt64]) {
        self.epoch = epoch
        self.lsns = lsns
    }

    public var total: UInt64 { lsns.values.reduce(0, &+) }
}

/// The value of `/hsdb/<cluster>/members/<name>`, under the member's own lease: who it is,
/// its role, and its progress as last published. `round` is the election it published for
/// (the epoch counter it saw plus one), 0 when it was not campaigning.
public struct ClusterMember: Codable, Sendable, Equatable {
    public var name: String
    public var advertise: String
    public var nodeID: String
    public var role: String
    public var progress: ClusterProgress
    public var round: UInt64

    enum CodingKeys: String, CodingKey {
        case name, advertise, role, progress, round
        case nodeID = "node_id"
    }

    public init(name: String, advertise: String, nodeID: String, role: String, progress: ClusterProgress, round: UInt64) {
        self.name = name
        self.advertise = advertise
        self.nodeID = nodeID
        self.role = role
        self.progress = progress
        self.round = round
    }

    /// True when `self` should lead rather than `other`: the higher epoch, then the more
    /// records, then the smaller name (so every node ranks the same way).
    public func outranks(_ other: ClusterMember) -> Bool {
        if progress.epoch != other.progress.epoch { return progress.epoch > other.progress.epoch }
        if progress.total != other.progress.total { return progress.total > other.progress.total }
        return name < other.name
    }
}

enum ClusterJSON {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(value)) ?? Data())
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]?) -> T? {
        guard let bytes else { return nil }
        return try? JSONDecoder().decode(type, from: Data(bytes))
    }
}
