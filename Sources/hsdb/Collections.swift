import ArgumentParser
import HSDB

/// `hsdb collections`: lists the collections of a database directory.
struct Collections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the collections of a database.")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    func run() async throws {
        let db = try await OperatorCommand.open(data, command: "collections")
        for entry in try db.listCollections() {
            let collection = try db.collection(entry.name)
            print("\(entry.name)\tdimension \(entry.config.dimension)\t\(entry.config.metric)\t\(collection.count()) points")
        }
        try await db.close()
    }
}
