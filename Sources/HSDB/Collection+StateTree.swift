import HSDBCore

/// A collection's state tree at one LSN, every hash current.
public struct CollectionTree: Sendable {
    public let lsn: UInt64
    public let tree: StateTree
}

extension Collection {
    /// The state tree as of the applied LSN. Hashes of buckets written since the last call are
    /// recomputed outside the state lock, on a copy (writes go on meanwhile); the copy is kept
    /// when no write came in between, so the next call starts from it.
    public func stateTree() -> CollectionTree {
        let (tree, lsn) = state.withLock { ($0.tree, $0.appliedLSN) }
        guard !tree.isSettled else { return CollectionTree(lsn: lsn, tree: tree) }
        let settled = tree.settled()
        state.withLock { if $0.tree.generation == settled.generation { $0.tree = settled } }
        return CollectionTree(lsn: lsn, tree: settled)
    }
}
