import ArgumentParser
import Foundation
import HSDB

/// `hsdb verify`: checks every checksum of every file; exits non-zero naming the file and
/// offset of the first problem. Refuses while a server has the directory open.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check every checksum of every file of a database.")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    func run() async throws {
        do {
            let report = try await Database.verify(at: data)
            print("ok: \(report.collections) collection(s), \(report.segments) segment(s), \(report.walFiles) WAL file(s), \(report.bytesChecked) bytes checked")
            for tail in report.tornTails { print("note: torn WAL tail (a crash's unacknowledged write; the next open truncates it): \(tail)") }
        } catch HSDBError.databaseLocked(_, let pid) {
            FileHandle.standardError.write("hsdb verify: \(data) is open in another process\(pid.map { " (pid \($0))" } ?? ""); stop it first\n".data(using: .utf8)!)
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write("hsdb verify: \(error)\n".data(using: .utf8)!)
            throw ExitCode(1)
        }
    }
}
