import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `recover` request's `location`, as Qdrant takes it: an absolute `file://` path (on
/// localhost) inside the snapshots directory, or an `http(s)://` URL the snapshot is
/// downloaded from into the snapshots directory (removed once recovered).
struct SnapshotLocation {
    /// The local file to recover, and whether it is a download to remove afterwards.
    let path: String
    let downloaded: Bool

    static func resolve(_ location: String, in store: SnapshotStore) async throws -> SnapshotLocation {
        guard let url = URL(string: location), let scheme = url.scheme?.lowercased() else {
            throw APIError.wrongInput("snapshot location `\(location.prefix(200))` is not a URL")
        }
        switch scheme {
        case "file": return SnapshotLocation(path: try local(url, in: store), downloaded: false)
        case "http", "https": return SnapshotLocation(path: try await download(url, into: store), downloaded: true)
        default: throw APIError.unsupported("recovering from `\(scheme)` locations (use file:// or http(s)://)")
        }
    }

    /// Qdrant's checks in its order: absolute (or on localhost), existing, inside the snapshots
    /// directory (403), a snapshot file (404). Messages name the path as given, never where
    /// the snapshots directory is.
    private static func local(_ url: URL, in store: SnapshotStore) throws -> String {
        let host = url.host ?? ""
        guard host.isEmpty || host == "localhost", url.path.hasPrefix("/") else {
            throw APIError(status: .badRequest, message: "Bad request: Invalid snapshot URI, file path must be absolute or on localhost")
        }
        let resolved = URL(fileURLWithPath: url.path).standardizedFileURL.resolvingSymlinksInPath().path
        let rootPath = URL(fileURLWithPath: store.root).standardizedFileURL.resolvingSymlinksInPath().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            // Inside the snapshots directory a name is given relative to it.
            let named = resolved.hasPrefix(rootPath + "/") ? String(resolved.dropFirst(rootPath.count + 1)) : url.path
            throw APIError(status: .badRequest, message: "Bad request: Snapshot file \"\(named)\" does not exist")
        }
        guard resolved.hasPrefix(rootPath + "/") else {
            throw APIError(status: .forbidden, message: "Forbidden: Snapshot file path must be inside the snapshots directory")
        }
        guard !isDirectory.boolValue, resolved.hasSuffix(SnapshotStore.suffix) else {
            throw APIError.notFound("`\(resolved.dropFirst(rootPath.count + 1))` is not a snapshot")
        }
        return resolved
    }

    /// Downloads `url` to `<snapshots>/.downloads/<uuid>.snapshot`; a failed download or a
    /// status other than 200 is 400.
    private static func download(_ url: URL, into store: SnapshotStore) async throws -> String {
        let directory = store.root + "/.downloads"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = directory + "/" + UUID().uuidString.lowercased() + SnapshotStore.suffix
        let failure: String? = await withCheckedContinuation { done in
            URLSession.shared.downloadTask(with: url) { temporary, response, error in
                // The temporary file is gone once this handler returns: move it now.
                if let error { return done.resume(returning: error.localizedDescription) }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                guard status == 200, let temporary else { return done.resume(returning: "HTTP status \(status)") }
                do {
                    try FileManager.default.moveItem(at: temporary, to: URL(fileURLWithPath: target))
                    done.resume(returning: nil)
                } catch {
                    done.resume(returning: "\(error)")
                }
            }.resume()
        }
        if let failure {
            try? FileManager.default.removeItem(atPath: target)
            throw APIError(status: .badRequest, message: "Bad request: failed to download the snapshot from \(url.absoluteString): \(failure)")
        }
        return target
    }

    /// Qdrant's check of a `checksum`: 64 hex digits, else 422 `invalid_sha256_hash`.
    static func checkChecksum(_ checksum: String?, in place: String) throws {
        guard let checksum else { return }
        guard checksum.utf8.count == 64, checksum.allSatisfy(\.isHexDigit) else {
            throw APIError.validation("checksum", "invalid_sha256_hash", in: place)
        }
    }
}
