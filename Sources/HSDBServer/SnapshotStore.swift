import Backup
import Foundation
import HSDB
import HSDBCore

/// Where collection snapshots live: `<snapshots>/<collection>/<name>.snapshot`, each with a
/// `<name>.snapshot.checksum` file holding its SHA-256 in hex (as Qdrant keeps them).
struct SnapshotStore: Sendable {
    let root: String
    static let suffix = ".snapshot"

    struct Description {
        let name: String
        let creationTime: String
        let size: Int
        let checksum: String?
    }

    func directory(of collection: String) -> String { root + "/" + collection }

    func path(_ collection: String, _ name: String) -> String { directory(of: collection) + "/" + name }

    /// Writes a new snapshot of `collection` and its checksum file.
    func create(_ collection: Collection) async throws -> Description {
        let dir = directory(of: collection.name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let stamp = Self.timestamp(Date(), separator: "-")
        var name = "\(collection.name)-\(stamp)\(Self.suffix)"
        var n = 1
        while FileManager.default.fileExists(atPath: dir + "/" + name) {
            n += 1
            name = "\(collection.name)-\(stamp)-\(n)\(Self.suffix)"
        }
        let summary = try await CollectionSnapshot.write(collection, to: dir + "/" + name)
        try POSIXFileSystem().writeFileAtomically(dir + "/" + name + ".checksum", bytes: Array(summary.sha256.utf8))
        return try describe(collection.name, name)!
    }

    func list(_ collection: String) throws -> [Description] {
        let dir = directory(of: collection)
        guard FileManager.default.fileExists(atPath: dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(Self.suffix) }
            .sorted()
            .compactMap { try describe(collection, $0) }
    }

    func describe(_ collection: String, _ name: String) throws -> Description? {
        let file = path(collection, name)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date()
        let checksum = (try? String(contentsOfFile: file + ".checksum", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return Description(name: name, creationTime: Self.timestamp(modified, separator: "T"), size: size, checksum: checksum)
    }

    /// Removes a snapshot and its checksum; false if there was none.
    func delete(_ collection: String, _ name: String) throws -> Bool {
        let file = path(collection, name)
        guard FileManager.default.fileExists(atPath: file) else { return false }
        try FileManager.default.removeItem(atPath: file)
        try? FileManager.default.removeItem(atPath: file + ".checksum")
        return true
    }

    /// The local file a `recover` location names. Only absolute `file://` locations inside the
    /// snapshots directory are accepted, so a request cannot make the server read other
    /// files: a relative or missing path is 400, a path outside the directory 403, a file in
    /// it that is not a snapshot 404. Messages name paths relative to the directory only.
    func resolve(location: String) throws -> String {
        guard let url = URL(string: location), let scheme = url.scheme?.lowercased() else {
            throw APIError.wrongInput("snapshot location `\(location.prefix(200))` is not a URL")
        }
        guard scheme == "file" else {
            throw APIError.unsupported("recovering from `\(scheme)` locations (copy the file into the snapshots directory and use file://)")
        }
        guard url.path.hasPrefix("/") else {
            throw APIError(status: .badRequest, message: "Bad request: the snapshot location must be an absolute file:// path")
        }
        let resolved = URL(fileURLWithPath: url.path).standardizedFileURL.resolvingSymlinksInPath().path
        let rootPath = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        guard resolved.hasPrefix(rootPath + "/") else {
            throw APIError(status: .forbidden, message: "Forbidden: snapshot locations must be inside the snapshots directory")
        }
        let relative = String(resolved.dropFirst(rootPath.count + 1))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw APIError(status: .badRequest, message: "Bad request: snapshot file `\(relative)` does not exist")
        }
        guard !isDirectory.boolValue, resolved.hasSuffix(Self.suffix) else {
            throw APIError.notFound("`\(relative)` is not a snapshot")
        }
        return resolved
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
