import Foundation
import HSDBCore

/// A collection moved aside at open because one of its files is missing or damaged
/// (`DatabaseOptions.quarantinesDamagedCollections`): a follower fetches it again from its
/// leader, reusing the segments of it that are intact (section "Repair" of DESIGN.md).
public struct QuarantinedCollection: Sendable, Equatable {
    public let name: String
    /// Where its files are now: `<data>/quarantine/<name>-<unix time>`.
    public let directory: String
    public let reason: String

    static let directoryName = "quarantine"

    /// A missing or damaged file, as opposed to a failure of the machine (out of memory or
    /// descriptors) that another open would not meet.
    static func isDamage(_ error: any Error) -> Bool {
        switch HSDBError.wrap(error) {
        case .corruption: return true
        case .io(let e): return e.errno == ENOENT || e.errno == EIO
        default: return error is FormatError
        }
    }

    /// Moves `directory` to `<database>/quarantine/<name>-<unix time>`, durably.
    static func move(_ directory: String, name: String, database: String, _ fs: any FileSystem) throws -> String {
        let parent = database + "/" + directoryName
        try fs.createDirectories(parent)
        var target = parent + "/" + name + "-" + String(Int(Date().timeIntervalSince1970))
        while fs.directoryExists(target) { target += "x" }
        try fs.rename(directory, to: target)
        try fs.syncDirectory(parent)
        try fs.syncDirectory((directory as NSString).deletingLastPathComponent)
        return target
    }

    /// Its segment files, by path.
    public func segmentFiles() -> [String] {
        let segments = directory + "/" + DatabaseLayout.segmentsDirectoryName
        let names = (try? FileManager.default.contentsOfDirectory(atPath: segments)) ?? []
        return names.filter { $0.hasSuffix(".seg") }.sorted().map { segments + "/" + $0 }
    }
}
