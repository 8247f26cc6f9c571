/// When a write is acknowledged, relative to the disk.
public enum DurabilityMode: Sendable, Equatable, CustomStringConvertible {
    /// Acknowledged only after fdatasync returned: nothing acknowledged is lost, by a crash or
    /// a power loss. Concurrent writers share one fdatasync (group commit). The default.
    case fsync
    /// Acknowledged once written to the OS; synced every `milliseconds`. A process crash loses
    /// nothing; a power loss or kernel crash loses at most the last interval of writes.
    case interval(milliseconds: Int)
    /// Acknowledged once written to the OS; synced only when a WAL file is rotated and at close.
    /// For bulk loads that can be redone: a power loss can lose any unsynced write.
    case none

    public var description: String {
        switch self {
        case .fsync: return "fsync"
        case .interval(let ms): return "interval(\(ms) ms)"
        case .none: return "none"
        }
    }

    /// Parses "fsync", "none", "interval" (100 ms) or "interval:N".
    public init?(parsing text: String) {
        switch text {
        case "fsync": self = .fsync
        case "none": self = .none
        case "interval": self = .interval(milliseconds: 100)
        default:
            guard text.hasPrefix("interval:"), let ms = Int(text.dropFirst("interval:".count)), ms > 0 else { return nil }
            self = .interval(milliseconds: ms)
        }
    }
}
