import Backup
import Foundation
import HSDB
import HSDBCore

/// Where snapshots live: a collection's at `<snapshots>/<collection>/<name>.snapshot`, full
/// ones (every collection, Qdrant's `POST /snapshots`) at `<snapshots>/<name>.snapshot`, each
/// with a `<name>.snapshot.checksum` file holding its SHA-256 in hex (as Qdrant keeps them).
struct SnapshotStore: Sendable {
    let root: String
    static let suffix = ".snapshot"

    struct Description {
        let name: String
        let creationTime: String
        let size: Int
        let checksum: String?
    }

    /// A collection's snapshot directory; nil: the full snapshots' (the root).
    func directory(of collection: String?) -> String { collection.map { root + "/" + $0 } ?? root }

    func path(_ collection: String?, _ name: String) -> String { directory(of: collection) + "/" + name }

    /// Writes a new snapshot of `collection` and its checksum file.
    func create(_ collection: Collection) async throws -> Description {
        try await create(in: collection.name, prefix: collection.name) { try await CollectionSnapshot.write(collection, to: $0) }
    }

    /// Writes a new full snapshot of `collections` and its checksum file.
    func createFull(_ collections: [Collection]) async throws -> Description {
        try await create(in: nil, prefix: "full-snapshot") { try await CollectionSnapshot.writeStorage(collections, to: $0) }
    }

    private func create(
        in collection: String?, prefix: String, _ write: (String) async throws -> CollectionSnapshotSummary
    ) async throws -> Description {
        let dir = directory(of: collection)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let stamp = Self.timestamp(Date(), separator: "-")
        var name = "\(prefix)-\(stamp)\(Self.suffix)"
        var n = 1
        while FileManager.default.fileExists(atPath: dir + "/" + name) {
            n += 1
            name = "\(prefix)-\(stamp)-\(n)\(Self.suffix)"
        }
        let summary = try await write(dir + "/" + name)
        try POSIXFileSystem().writeFileAtomically(dir + "/" + name + ".checksum", bytes: Array(summary.sha256.utf8))
        guard let written = try describe(collection, name) else { throw APIError.wrongInput("snapshot `\(name)` vanished as it was written") }
        return written
    }

    func list(_ collection: String?) throws -> [Description] {
        let dir = directory(of: collection)
        guard FileManager.default.fileExists(atPath: dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(Self.suffix) }
            .sorted()
            .compactMap { try describe(collection, $0) }
    }

    /// A snapshot file's description; nil if there is none (a directory, such as a collection's
    /// beside the full snapshots, is none).
    func describe(_ collection: String?, _ name: String) throws -> Description? {
        let file = path(collection, name)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
              let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date()
        let checksum = (try? String(contentsOfFile: file + ".checksum", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return Description(name: name, creationTime: Self.timestamp(modified, separator: "T"), size: size, checksum: checksum)
    }

    /// Removes a snapshot and its checksum; false if there was none.
    func delete(_ collection: String?, _ name: String) throws -> Bool {
        guard try describe(collection, name) != nil else { return false }
        let file = path(collection, name)
        try FileManager.default.removeItem(atPath: file)
        try? FileManager.default.removeItem(atPath: file + ".checksum")
        return true
    }

    /// `message` with the snapshots directory's absolute path taken out.
    func redacted(_ message: String) -> String {
        let rootPath = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        return message.replacingOccurrences(of: rootPath + "/", with: "").replacingOccurrences(of: root + "/", with: "")
    }

    static func sha256(ofFile path: String) throws -> String {
        try CollectionSnapshot.sha256Hex(of: path)
    }

    /// "2026-11-30-23-59-59" or "2026-11-30T23:59:59" (UTC; Qdrant's naive ISO time).
    static func timestamp(_ date: Date, separator: Character) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        return separator == "T"
            ? day + String(format: "T%02d:%02d:%02d", c.hour!, c.minute!, c.second!)
            : day + String(format: "-%02d-%02d-%02d", c.hour!, c.minute!, c.second!)
    }
}
