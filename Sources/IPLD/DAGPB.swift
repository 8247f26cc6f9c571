/// A DAG-PB node (codec 0x70), the block format of UnixFS. Its protobuf schema:
///
///     message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
///     message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
///
/// The DAG-PB spec fixes one byte form: every Links entry comes before Data (though Data has
/// the lower field number), a link's fields go Hash, Name, Tsize, and nothing else may
/// appear. Decoding refuses any other order, repeats, unknown fields and a link with no Hash.
public struct DAGPBNode: Hashable, Sendable {
    public var links: [DAGPBLink]
    public var data: [UInt8]?

    public init(links: [DAGPBLink] = [], data: [UInt8]?) {
        self.links = links
        self.data = data
    }
}

public struct DAGPBLink: Hashable, Sendable {
    public var hash: CID
    /// kubo writes an empty name (the bytes `12 00`) for every link of a file node.
    public var name: String?
    /// The cumulative size of the linked subtree: the encoded bytes of every block in it.
    public var tsize: UInt64?

    public init(hash: CID, name: String? = "", tsize: UInt64?) {
        self.hash = hash
        self.name = name
        self.tsize = tsize
    }
}

/// Field numbers of the DAG-PB protobuf messages. Frozen: part of the wire format.
enum DAGPBField {
    static let nodeData: UInt64 = 1
    static let nodeLinks: UInt64 = 2
    static let linkHash: UInt64 = 1
    static let linkName: UInt64 = 2
    static let linkTsize: UInt64 = 3
}
