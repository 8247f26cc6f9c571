import HSDBCore
import Index

/// Checks of everything a caller hands the engine. Each failure says what was wrong, never
/// echoing vectors or payloads.
enum Validation {
    static let maxNameBytes = 255

    /// Collection (and snapshot) names become directory names, so anything that could
    /// escape the directory or confuse a file system is refused.
    static func checkName(_ name: String, kind: String = "collection") throws {
        guard !name.isEmpty else { throw HSDBError.invalidArgument("\(kind) name is empty") }
        guard name.utf8.count <= maxNameBytes else {
            throw HSDBError.invalidArgument("\(kind) name is \(name.utf8.count) bytes long; the limit is \(maxNameBytes)")
        }
        if name.contains("/") || name.contains("\\") {
            throw HSDBError.invalidArgument("\(kind) name must not contain '/' or '\\'")
        }
        if name == "." || name == ".." || name.contains("..") {
            throw HSDBError.invalidArgument("\(kind) name must not contain '..'")
        }
        if name.hasPrefix(".") {
            throw HSDBError.invalidArgument("\(kind) name must not start with '.' (reserved for temporary files)")
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            throw HSDBError.invalidArgument("\(kind) name must not contain control characters")
        }
    }

    static func checkConfig(_ config: CollectionConfig) throws {
        guard config.dimension >= 1, config.dimension <= Limits.maxDimension else {
            throw HSDBError.invalidArgument("dimension must be between 1 and \(Limits.maxDimension), got \(config.dimension)")
        }
        guard (2...512).contains(config.hnswM) else { throw HSDBError.invalidArgument("hnsw m must be between 2 and 512, got \(config.hnswM)") }
        guard (1...100_000).contains(config.hnswEfConstruction) else {
            throw HSDBError.invalidArgument("hnsw ef_construct must be between 1 and 100000, got \(config.hnswEfConstruction)")
        }
        for name in config.sparseVectors.keys where name.isEmpty || name.utf8.count > maxNameBytes {
            throw HSDBError.invalidArgument("sparse vector names must be 1 to \(maxNameBytes) bytes long, got \(name.utf8.count)")
        }
        try checkNamedVectors(config.namedVectors)
    }

    /// Further dense vectors: at most 255, distinct non-empty names, each shaped as the first.
    static func checkNamedVectors(_ named: [NamedVectorConfig]) throws {
        guard named.count <= 255 else { throw HSDBError.invalidArgument("a collection has at most 256 dense vectors, got \(named.count + 1)") }
        guard Set(named.map(\.name)).count == named.count else { throw HSDBError.invalidArgument("dense vector names must be distinct") }
        for v in named {
            guard v.name.utf8.count <= maxNameBytes else {  // "" is Qdrant's unnamed vector
                throw HSDBError.invalidArgument("dense vector names must be at most \(maxNameBytes) bytes long, got \(v.name.utf8.count)")
            }
            try checkConfig(CollectionConfig(dimension: v.dimension, metric: v.metric, hnswM: v.hnswM, hnswEfConstruction: v.hnswEfConstruction))
        }
    }

    /// Each sparse vector under a name the collection declares, its indices strictly
    /// ascending and its values finite.
    static func checkSparse(_ sparse: [String: SparseVector], config: CollectionConfig, context: @autoclosure () -> String) throws {
        for (name, v) in sparse {
            guard config.sparseVectors[name] != nil else {
                throw HSDBError.invalidArgument("\(context()): the collection has no sparse vector named '\(name)'")
            }
            if zip(v.indices, v.indices.dropFirst()).contains(where: { $0 >= $1 }) {
                throw HSDBError.invalidArgument("\(context()): sparse vector '\(name)' has indices that are not strictly ascending")
            }
            if let bad = v.values.firstIndex(where: { !$0.isFinite }) {
                throw HSDBError.invalidArgument("\(context()): sparse vector '\(name)' value at position \(bad) is not a finite number")
            }
        }
    }

    /// Checks dimension and finiteness; returns the sum of squares (for normalisation).
    @discardableResult
    static func checkVector(_ vector: [Float], dimension: Int, context: @autoclosure () -> String) throws -> Float {
        guard vector.count == dimension else {
            throw HSDBError.invalidArgument("\(context()): vector has \(vector.count) values, the collection's dimension is \(dimension)")
        }
        let sumOfSquares = vector.withUnsafeBufferPointer { Distance.dot($0.baseAddress!, $0.baseAddress!, count: $0.count) }
        // NaN and infinity make the sum non-finite, so a finite sum proves every value finite.
        if !sumOfSquares.isFinite {
            if let bad = vector.firstIndex(where: { !$0.isFinite }) {
                throw HSDBError.invalidArgument("\(context()): vector value at index \(bad) is not a finite number")
            }
            // Every value finite but the squares overflow: every distance to it would be
            // infinite (and a cosine vector would normalize to zeros).
            throw HSDBError.invalidArgument("\(context()): vector is too large: the sum of its squares overflows 32-bit floats")
        }
        return sumOfSquares
    }

    /// Checks nesting depth and finiteness of a payload (its size is checked once encoded).
    static func checkPayload(_ payload: Payload, limits: Limits, context: @autoclosure () -> String) throws {
        if payload.isEmpty { return }
        let value = JSONValue.object(payload)
        guard value.depth <= limits.maxPayloadDepth else {
            throw HSDBError.invalidArgument("\(context()): payload nests deeper than \(limits.maxPayloadDepth) levels")
        }
        guard value.isFinite else {
            throw HSDBError.invalidArgument("\(context()): payload contains a number that is not finite")
        }
    }

    static func checkPayloadSize(_ bytes: Int, limits: Limits, context: @autoclosure () -> String) throws {
        guard bytes <= limits.maxPayloadBytes else {
            throw HSDBError.invalidArgument("\(context()): payload is \(bytes) bytes encoded; the limit is \(limits.maxPayloadBytes)")
        }
    }

    static func checkBatchSize(_ count: Int, limits: Limits) throws {
        guard count <= limits.maxBatchPoints else {
            throw HSDBError.invalidArgument("a batch of \(count) points exceeds the limit of \(limits.maxBatchPoints)")
        }
    }
}
