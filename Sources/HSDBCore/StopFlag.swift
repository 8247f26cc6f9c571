import Synchronization

/// A one-way signal that long CPU work polls to give up early: a segment's graph build when
/// its collection closes (a merge of a million points takes minutes, and is restartable).
public final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    public func raise() { raised.store(true, ordering: .releasing) }

    public var isRaised: Bool { raised.load(ordering: .acquiring) }
}
