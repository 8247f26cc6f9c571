import ArgumentParser
import Foundation
import HSDB

/// What the operator commands share: opening a database directory that must exist, and a
/// polite refusal (exit 2) when a server or another command holds it.
enum OperatorCommand {
    static func open(_ data: String, command: String) async throws -> Database {
        var options = DatabaseOptions()
        options.createIfMissing = false
        options.verifySegmentsOnOpen = false
        do {
            return try await Database.open(at: data, options: options)
        } catch HSDBError.databaseLocked(_, let pid) {
            fail("hsdb \(command): \(data) is in use by \(pid.map { "process \($0)" } ?? "another process") (a running `hsdb serve`?); stop it first, or use the HTTP API", code: 2)
        } catch {
            fail("hsdb \(command): \(error)", code: 1)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }

    static func collections(_ db: Database, named name: String?) throws -> [Collection] {
        if let name { return [try db.collection(name)] }
        return try db.listCollections().map { try db.collection($0.name) }
    }
}
