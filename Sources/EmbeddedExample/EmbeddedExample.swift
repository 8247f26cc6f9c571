import HSDB

@main
struct EmbeddedExample {
    static func main() async throws {
        let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "./example-data"
        let db = try await Database.open(at: path)
        let docs = try await db.collection("docs", creatingWith: CollectionConfig(dimension: 4, metric: .cosine))

        // One batch is one WAL record: after a crash, all of it is there or none of it.
        try await docs.upsert([
            Point(id: 1, vector: [0.9, 0.1, 0.0, 0.0], payload: ["title": "Sleeping cats", "year": 2024]),
            Point(id: 2, vector: [0.0, 0.2, 0.9, 0.1], payload: ["title": "Rust borrow checker", "year": 2023]),
        ])

        let hits = try docs.search([1.0, 0.0, 0.0, 0.0], limit: 1)
        print("nearest: id \(hits[0].id), title \(hits[0].payload?["title"] ?? .null)")
        print("points: \(docs.count())")
        try await db.close()
    }
}
