import ArgumentParser
import HSDB

/// `hsdb collections`: lists the collections of a database directory.
struct Collections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the collections of a database.")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    func run() async throws {
        var options = DatabaseOptions()
        options.createIfMissing = false
        let db = try await Database.open(at: data, options: options)
        for entry in try db.listCollections() {
            let collection = try db.collection(entry.name)
            print("\(entry.name)\tdimension \(entry.config.dimension)\t\(entry.config.metric)\t\(collection.count()) points")
        }
        try await db.close()
    }
}
