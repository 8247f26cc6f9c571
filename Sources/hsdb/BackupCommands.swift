import ArgumentParser
import Backup
import Foundation
import HSDB
import Replication

/// `hsdb backup create|list|verify`: incremental CAR backups (DESIGN.md, "Backup and
/// point-in-time restore"). `create --data` takes the database lock, so it refuses politely
/// while a server holds the directory; `create --server` asks that server for one.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Incremental CAR backups: of a stopped database, or by a running server.",
        subcommands: [BackupCreate.self, BackupList.self, BackupVerify.self, BackupPrune.self])
}

struct BackupCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Back up a stopped database (--data, --to), or have a running server back up into its --backup-dir (--server).")

    @Option(name: .long, help: "Database directory (offline backup).")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Backup directory (created if missing; offline backup).")
    var to: String?

    @Option(name: .long, help: "A running server's base URL, such as http://127.0.0.1:6333: it writes the backup into its --backup-dir.")
    var server: String?

    @Option(name: .long, help: "The server's API key (default: $HSDB_API_KEY).")
    var apiKey: String?

    @Flag(name: .long, help: "Write every block, even those earlier backups hold.")
    var full = false

    func validate() throws {
        guard (server == nil) != (to == nil) else {
            throw ValidationError("give --to BACKUPDIR (a stopped database) or --server URL (a running one), not both")
        }
    }

    func run() async throws {
        if let server { return try await online(server) }
        let db: LockedDatabaseDirectory
        do {
            db = try LockedDatabaseDirectory.open(at: data)
        } catch HSDBError.databaseLocked(_, let pid) {
            OperatorCommand.fail("hsdb backup create: \(data) is in use by \(pid.map { "process \($0)" } ?? "another process") (a running `hsdb serve`? use --server); or stop it first", code: 2)
        } catch {
            OperatorCommand.fail("hsdb backup create: \(error)", code: 1)
        }
        defer { db.close() }
        do {
            let s = try BackupWriter.create(database: db, backupDirectory: to!, forceFull: full)
            print("\(s.archive.fileName): \(s.archive.kind.rawValue), root \(s.archive.rootCID), \(s.archive.bytes) bytes, \(s.blocksWritten) blocks written, \(s.blocksReused) reused")
            for c in s.archive.root.collections {
                print("  \(c.name): LSN \(c.lastLSN)\(c.lastTime.map { ", committed \(BackupClock.format($0))" } ?? "")")
            }
        } catch {
            OperatorCommand.fail("hsdb backup create: \(error)", code: 1)
        }
    }

    private func online(_ server: String) async throws {
        let key = apiKey ?? ProcessInfo.processInfo.environment["HSDB_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let result: JSONValue
        do {
            result = try await ServerAdminClient(server: server, apiKey: key).post(full ? "/backups?full=true" : "/backups")
        } catch ReplicationError.leader(let status, let message) {
            OperatorCommand.fail("hsdb backup create: \(server) answered \(status): \(message)", code: 1)
        } catch {
            OperatorCommand.fail("hsdb backup create: \(error)", code: 1)
        }
        guard case .object(let o) = result, case .string(let file)? = o["file"], case .string(let kind)? = o["kind"],
              case .string(let root)? = o["root"], case .int(let bytes)? = o["bytes"] else {
            OperatorCommand.fail("hsdb backup create: \(server) gave an answer without the backup's file, kind, root and bytes", code: 1)
        }
        print("\(file): \(kind), root \(root), \(bytes) bytes")
        if case .array(let collections)? = o["collections"] {
            for case .object(let c) in collections {
                guard case .string(let name)? = c["name"], case .int(let lsn)? = c["lsn"] else { continue }
                let time = if case .string(let t)? = c["commit_time"] { ", committed \(t)" } else { "" }
                print("  \(name): LSN \(lsn)\(time)")
            }
        }
    }
}

struct BackupList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the backups and the restorable window of each collection.")

    @Argument(help: "Backup directory.")
    var directory: String

    @Flag(name: .long, help: "Print JSON: one object per backup, then one per collection window.")
    var json = false

    func run() throws {
        let listing: BackupListing
        do { listing = try BackupListing.read(directory: directory) } catch { OperatorCommand.fail("hsdb backup list: \(error)", code: 1) }
        for line in json ? listing.jsonLines() : listing.textLines() { print(line) }
    }
}

struct BackupVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every block, link, the chain and WAL continuity.")

    @Argument(help: "Backup directory.")
    var directory: String

    func run() throws {
        do {
            let report = try BackupVerifier.verify(directory: directory)
            print("ok: \(report.archives.count) backup(s), \(report.blocks) blocks, chain complete")
        } catch {
            OperatorCommand.fail("hsdb backup verify: \(error)", code: 1)
        }
    }
}

struct BackupPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove the backups before the newest N full ones (the restorable window then starts there).")

    @Argument(help: "Backup directory.")
    var directory: String

    @Option(name: .customLong("keep-full"), help: "How many full backups to keep (at least 1).")
    var keepFull: Int

    func run() throws {
        do {
            let result = try BackupPruner.prune(directory: directory, keepFull: keepFull)
            for name in result.removed { print("removed \(name)") }
            let first = result.first.map { "; the chain starts at backup \($0)" } ?? ""
            print("pruned \(result.removed.count) backup(s), \(result.bytesFreed) bytes\(first)")
        } catch {
            OperatorCommand.fail("hsdb backup prune: \(error)", code: 1)
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup directory into a new database directory, optionally to a point in time.",
        discussion: """
            A collection sharded across a cluster's nodes (its backups under <from>/shards/<collection>) is \
            restored from its shards' backups into one collection of the new database: gather every \
            node's --backup-dir into one directory first (cp -r).
            """)

    @Option(name: .long, help: "Backup directory.")
    var from: String

    @Option(name: .long, help: "New database directory (must not exist, or be empty).")
    var to: String

    @Option(name: .long, help: "Only this collection (a sharded one: all its shards).")
    var collection: String?

    @Option(name: .customLong("at-lsn"), help: "Restore to this LSN (needs --collection).")
    var atLSN: UInt64?

    @Option(name: .customLong("at-time"), help: "Restore to the last commit at or before this RFC 3339 time.")
    var atTime: String?

    func run() async throws {
        var goal = RestoreTarget.latest
        if atLSN != nil && atTime != nil { OperatorCommand.fail("hsdb restore: give --at-lsn or --at-time, not both", code: 1) }
        if let n = atLSN { goal = .lsn(n) }
        if let t = atTime {
            guard let ns = BackupClock.parse(t) else { OperatorCommand.fail("hsdb restore: --at-time \(t) is not an RFC 3339 time (2026-12-02T06:11:11.5Z)", code: 1) }
            goal = .time(ns)
        }
        let progress: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        do {
            if let collection, try !ShardBackupLayout.incarnations(root: from, collection: collection).isEmpty {
                let shards = try await ShardedRestore.restore(from: from, to: to, collection: collection, at: goal, progress: progress)
                for s in shards { print("shard \(s.shard) (node \(s.node)): " + Self.describe(s.reached)) }
                return
            }
            let reached = try BackupRestore.restore(from: from, to: to, collection: collection, at: goal, progress: progress)
            for r in reached { print("\(r.name): " + Self.describe(r)) }
        } catch {
            OperatorCommand.fail("hsdb restore: \(error)", code: 1)
        }
    }

    static func describe(_ r: RestoredCollection) -> String {
        let digests = r.digestsChecked.isEmpty
            ? "state digest not checked (no backup recorded one in the range restored)"
            : "state digest matches at LSN " + r.digestsChecked.map(String.init).joined(separator: ", ")
        return "LSN \(r.lsn), committed \(r.commitTime.map(BackupClock.format) ?? "(no commit time)"); \(digests)"
    }
}
