import HSDB
import HSDBCore
import Synchronization

/// The state trees a server answered a root for, held a while so that the levels below can
/// be asked at that LSN while writes go on. Trees share their unchanged buckets with the
/// live one, so a pin costs the buckets written since. At most `capacity` pins, each for
/// `lifetime`; the oldest goes first.
public final class StateTreePins: Sendable {
    struct Pin {
        let collection: String
        let held: CollectionTree
        let until: ContinuousClock.Instant
    }

    public static let capacity = 8
    public static let lifetime = Duration.seconds(120)
    private let pins = Mutex<[Pin]>([])

    public init() {}

    /// Holds `tree`, the collection's tree now.
    public func pin(_ collection: String, _ tree: CollectionTree) {
        let now = ContinuousClock.now
        pins.withLock { list in
            list.removeAll { $0.until < now || ($0.collection == collection && $0.held.lsn == tree.lsn) }
            list.append(Pin(collection: collection, held: tree, until: now + Self.lifetime))
            if list.count > Self.capacity { list.removeFirst(list.count - Self.capacity) }
        }
    }

    /// The collection's tree pinned at `lsn`, if still held.
    public func tree(_ collection: String, at lsn: UInt64) -> CollectionTree? {
        let now = ContinuousClock.now
        return pins.withLock { list in
            list.removeAll { $0.until < now }
            return list.last { $0.collection == collection && $0.held.lsn == lsn }?.held
        }
    }
}
