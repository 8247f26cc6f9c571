/// The nodes of an earlier graph a build starts from (a merge's largest input): each keeps its
/// level and its links to the other carried nodes, renumbered, and the build inserts only the
/// nodes that are new. Links to nodes not carried (points deleted since) are dropped.
public struct CarriedGraph {
    public let graph: HNSWGraph
    /// For each node of `graph`, its node in the new build, or `dropped`.
    public let newNode: [UInt32]
    public static let dropped = UInt32.max

    public init(graph: HNSWGraph, newNode: [UInt32]) {
        precondition(newNode.count == graph.count)
        self.graph = graph
        self.newNode = newNode
    }

    /// Carrying pays while few nodes are dropped: each drop takes links away from its
    /// neighbours, which the build does not repair (hnswlib keeps deleted nodes for the same
    /// reason). Above a tenth, a full build.
    public static let maximumDroppedFraction = 0.1
}
