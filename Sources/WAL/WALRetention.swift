/// Which WAL files may be deleted. A file is kept while any of its records is not yet in a
/// segment (LSN above the flushed LSN), while replication or a backup still needs it, and
/// while the policy wants it for point-in-time restore. The active (last) file is always kept.
public struct WALRetentionPolicy: Sendable, Equatable {
    /// Keep flushed files younger than this many seconds.
    public var maxAgeSeconds: Double?
    /// Keep flushed files, newest first, while their total stays within this many bytes.
    public var maxBytes: Int64?

    /// By default: a day of history, at most 1 GiB of flushed WAL.
    public init(maxAgeSeconds: Double? = 86_400, maxBytes: Int64? = 1 << 30) {
        self.maxAgeSeconds = maxAgeSeconds
        self.maxBytes = maxBytes
    }

    public static let keepEverything = WALRetentionPolicy(maxAgeSeconds: nil, maxBytes: nil)
}

public struct WALFileInfo: Sendable, Equatable {
    public let name: String
    public let firstLSN: UInt64
    public let lastLSN: UInt64
    public let bytes: Int64
    /// Seconds since the file was last written.
    public let ageSeconds: Double

    public init(name: String, firstLSN: UInt64, lastLSN: UInt64, bytes: Int64, ageSeconds: Double) {
        self.name = name
        self.firstLSN = firstLSN
        self.lastLSN = lastLSN
        self.bytes = bytes
        self.ageSeconds = ageSeconds
    }
}

public enum WALRetention {
    /// The names of files to delete, oldest first. `files` are sorted by LSN. `pinnedLSN` is the
    /// oldest LSN a reader (a follower, a backup) still needs; files holding it or later stay.
    /// Only a prefix of the log is ever deleted, so the log left has no gap.
    public static func filesToDelete(
        _ files: [WALFileInfo], flushedLSN: UInt64, pinnedLSN: UInt64? = nil, policy: WALRetentionPolicy
    ) -> [String] {
        guard policy.maxAgeSeconds != nil || policy.maxBytes != nil else { return [] }
        let candidates = files.dropLast().prefix { f in f.lastLSN <= flushedLSN && (pinnedLSN.map { f.lastLSN < $0 } ?? true) }
        // Bytes kept if we stop deleting before index i: every candidate from i on.
        var keptBytes = candidates.reduce(Int64(0)) { $0 + $1.bytes }
        var doomed: [String] = []
        for f in candidates {
            let tooOld = policy.maxAgeSeconds.map { f.ageSeconds > $0 } ?? false
            let overBudget = policy.maxBytes.map { keptBytes > $0 } ?? false
            guard tooOld || overBudget else { break }
            doomed.append(f.name)
            keptBytes -= f.bytes
        }
        return doomed
    }
}
