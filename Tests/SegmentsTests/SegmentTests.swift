import Foundation
import HSDBCore
import HSDBTestSupport
import Index
@testable import Segments
import XCTest

/// Points for a segment, sorted by id as the writer requires.
struct TestPoints: SegmentSource {
    var ids: [PointID]
    var versions: [UInt64]
    var vectors: [[Float]]
    var payloads: [Payload]
    var sparseNames: [String] = []
    /// Per ordinal, its sparse vectors by name.
    var sparseVectors: [[String: SparseVector]] = []
    /// Ordinals that carry no dense vector.
    var absent: Set<Int> = []
    /// Further dense vectors: per lane, a vector per ordinal (nil: absent).
    var lanes: [[[Float]?]] = []
    /// Per lane, its dimension, and whether it holds multivectors (rows of that dimension).
    var laneShapes: [(dimension: Int, multivector: Bool)] = []
    var laneDimensions: [Int] { laneShapes.map(\.dimension) }
    func multivector(_ o: Int, lane: Int) -> [Float]? { laneShapes[lane - 1].multivector ? lanes[lane - 1][o] : nil }
    func hasVector(_ o: Int, lane: Int) -> Bool { lane == 0 ? hasVector(o) : lanes[lane - 1][o] != nil }
    func copyVector(_ o: Int, lane: Int, into p: UnsafeMutablePointer<Float>) {
        guard lane > 0 else { return copyVector(o, into: p) }
        lanes[lane - 1][o]!.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: $0.count) }
    }

    /// Adds a further dense vector of `dimension`, absent from every `absentEvery`-th point.
    /// With `multivector`, each point carries 1 to 3 vectors under it.
    func withLane(dimension: Int, absentEvery: Int, multivector: Bool = false, seed: UInt64 = 11) -> TestPoints {
        var rng = SplitMix64(seed: seed)
        var copy = self
        copy.laneShapes.append((dimension, multivector))
        copy.lanes.append((0..<count).map { o in
            let rows = multivector ? 1 + o % 3 : 1
            return o % absentEvery == 0 ? nil : (0..<(dimension * rows)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        })
        return copy
    }
    var count: Int { ids.count }
    var dimension: Int { vectors.first?.count ?? 1 }
    func id(_ o: Int) -> PointID { ids[o] }
    func version(_ o: Int) -> UInt64 { versions[o] }
    func hasVector(_ o: Int) -> Bool { !absent.contains(o) }
    func copyVector(_ o: Int, into p: UnsafeMutablePointer<Float>) {
        precondition(!absent.contains(o), "copyVector of a point without a vector")
        vectors[o].withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: $0.count) } }
    func payload(_ o: Int) -> [UInt8] { PayloadCodec.encode(payloads[o]) }
    func sparse(_ o: Int, name: Int) -> SparseVector? { sparseVectors.isEmpty ? nil : sparseVectors[o][sparseNames[name]] }

    /// Takes the dense vector away from every `period`-th point (from ordinal `phase`).
    func withoutVectors(every period: Int, from phase: Int = 1) -> TestPoints {
        var copy = self
        copy.absent = Set(stride(from: phase, to: count, by: period))
        return copy
    }

    /// Gives the points sparse vectors "a" and "b": random indices below 200, some points
    /// without one or both.
    func withSparse(seed: UInt64 = 9) -> TestPoints {
        var rng = SplitMix64(seed: seed)
        var copy = self
        copy.sparseNames = ["a", "b"]
        copy.sparseVectors = (0..<count).map { o in
            var out: [String: SparseVector] = [:]
            for name in ["a", "b"] where (o + name.count) % 4 != 0 {
                let indices = Set((0..<(1 + Int(rng.next() % 12))).map { _ in UInt32(rng.next() % 200) }).sorted()
                out[name] = SparseVector(indices: indices, values: indices.map { _ in Float(Int(rng.next() % 1000) - 300) / 100 })
            }
            return out
        }
        return copy
    }

    /// `count` points: every third id a UUID, unit vectors, payloads of varied size.
    static func make(count: Int, dimension: Int, seed: UInt64 = 7) -> TestPoints {
        var rng = SplitMix64(seed: seed)
        var ids: [PointID] = []
        for i in 0..<count {
            if i % 3 == 2 {
                var bytes = [UInt8](repeating: 0, count: 16)
                for k in 0..<16 { bytes[k] = UInt8(truncatingIfNeeded: rng.next()) }
                ids.append(.uuid(UUID(uuid: bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) })))
            } else {
                ids.append(.integer(UInt64(i) * 7 + 3))
            }
        }
        ids.sort()
        let vectors = (0..<count).map { _ -> [Float] in
            let v = (0..<dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / max(n, 1e-6) }
        }
        let payloads: [Payload] = (0..<count).map { i in
            i % 5 == 0 ? [:] : ["n": .int(Int64(i)), "text": .string(String(repeating: "x", count: i % 300)), "tags": .array([.string("a"), .bool(i % 2 == 0)])]
        }
        return TestPoints(ids: ids, versions: (0..<count).map { UInt64(100 + $0 * 3 % 997) }, vectors: vectors, payloads: payloads)
    }
}

final class SegmentTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "hsdb-segment-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func write(_ points: TestPoints, metric: Metric = .cosine, minGraphPoints: Int = 1024) throws -> (SegmentInfo, Segment) {
        let fs = POSIXFileSystem()
        var options = SegmentIndexOptions(metric: metric, m: 8, efConstruction: 40, minGraphPoints: minGraphPoints)
        options.lanes = points.laneShapes.map { LaneIndexOptions(metric: .dot, m: 6, efConstruction: 30, multivector: $0.multivector) }
        let info = try SegmentWriter.write(points, options: options, directory: directory, fileSystem: fs)
        return (info, try Segment.open(path: directory + "/" + info.fileName, fileSystem: fs))
    }

    func testRoundTrip() throws {
        let points = TestPoints.make(count: 1500, dimension: 24)
        let (info, segment) = try write(points)
        XCTAssertEqual(segment.count, 1500)
        XCTAssertEqual(info.count, 1500)
        XCTAssertEqual(info.minLSN, points.versions.min())
        XCTAssertEqual(info.maxLSN, points.versions.max())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [info.fileName], "no temporary file left")
        XCTAssertTrue(segment.header.hasGraph)
        for o in 0..<points.count {
            XCTAssertEqual(segment.id(at: o), points.ids[o])
            XCTAssertEqual(segment.ordinal(of: points.ids[o]), o)
            XCTAssertEqual(segment.version(at: o), points.versions[o])
            XCTAssertEqual(segment.vector(at: o), points.vectors[o])
            XCTAssertEqual(try segment.payload(at: o), points.payloads[o])
        }
        XCTAssertNil(segment.ordinal(of: .integer(1)))
        XCTAssertNil(segment.ordinal(of: .uuid(UUID())))
        // A merge's reads: whole blocks, in ordinal order, each the bytes one read gives.
        var o = 0
        var blocks = 0
        while o < points.count {
            let block = try segment.payloadBlock(holding: o)
            XCTAssertEqual(block.first, o, "blocks tile the ordinals")
            for p in block.first..<block.first + block.payloads.count { XCTAssertEqual(block[p], try segment.payloadBytes(at: p)) }
            XCTAssertEqual(try segment.payloadBlock(holding: o + block.payloads.count - 1).first, o)
            o += block.payloads.count
            blocks += 1
        }
        XCTAssertGreaterThan(blocks, 1, "the payloads span several blocks")
        try segment.verify()
    }

    func testContentIDIsTheSHA256OfTheFile() throws {
        let (info, _) = try write(TestPoints.make(count: 50, dimension: 8))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + info.fileName))
        XCTAssertEqual(bytes.count, info.bytes)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [directory + "/" + info.fileName]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(String(output.prefix(64)), info.contentID)
    }

    func testGraphSearchFindsNearestNeighbours() throws {
        let points = TestPoints.make(count: 2000, dimension: 16)
        let (_, segment) = try write(points)
        var hits = 0
        segment.withIndex { index in
            let graph = index.graph!
            var visited = VisitedSet(count: segment.count)
            for q in stride(from: 0, to: 2000, by: 40) {
                let found = points.vectors[q].withUnsafeBufferPointer { graph.search(index.vectors.query($0.baseAddress!), k: 5, ef: 64, visited: &visited) }
                XCTAssertEqual(found.first?.node, UInt32(q), "a stored vector is its own nearest neighbour")
                var scored: [(node: UInt32, similarity: Float)] = []
                for i in 0..<2000 {
                    var dot: Float = 0
                    for d in 0..<16 { dot += points.vectors[q][d] * points.vectors[i][d] }
                    scored.append((UInt32(i), dot))
                }
                let exact = scored.sorted { $0.similarity > $1.similarity }.prefix(5).map(\.node)
                hits += Set(found.map(\.node)).intersection(exact).count
            }
        }
        XCTAssertGreaterThanOrEqual(Double(hits) / 250, 0.9)
    }

    /// Sparse vectors read back as written, and the inverted index holds exactly their
    /// entries; a segment without them stays format version 1.
    func testSparseVectorsAndTheirPostings() throws {
        let points = TestPoints.make(count: 300, dimension: 4).withSparse()
        let (_, segment) = try write(points)
        XCTAssertTrue(segment.header.hasSparse)
        XCTAssertEqual(segment.sparseNames, ["a", "b"])
        try segment.withFileBytes { XCTAssertEqual($0.loadUnaligned(fromByteOffset: 8, as: UInt16.self), 2) }
        try segment.verify()
        var expected: [String: [UInt32: [(Int, Float)]]] = [:]
        for o in 0..<points.count {
            XCTAssertEqual(segment.sparseVectors(at: o), points.sparseVectors[o], "ordinal \(o)")
            for (name, v) in points.sparseVectors[o] {
                for (i, x) in zip(v.indices, v.values) { expected[name, default: [:]][i, default: []].append((o, x)) }
            }
        }
        for (n, name) in ["a", "b"].enumerated() {
            for term in UInt32(0)..<201 {
                var got: [(Int, Float)] = []
                segment.forEachPosting(name: n, term: term) { got.append(($0, $1)) }
                let want = expected[name]?[term] ?? []
                XCTAssertEqual(got.map(\.0), want.map(\.0), "\(name) \(term)")
                XCTAssertEqual(got.map(\.1), want.map(\.1), "\(name) \(term)")
            }
        }
        let (_, dense) = try write(TestPoints.make(count: 10, dimension: 4, seed: 3))
        XCTAssertFalse(dense.header.hasSparse)
        XCTAssertEqual(dense.sparseNames, [])
        try dense.withFileBytes { XCTAssertEqual($0.loadUnaligned(fromByteOffset: 8, as: UInt16.self), 1) }
    }

    /// Points without a dense vector: format version 3 with the absent-vectors bitmap, zeros
    /// in their place, a graph that links only the others (so no walk reaches them), and the
    /// quantizer centred on the vectors there are. All-present segments keep versions 1 and 2.
    /// A further dense vector (format version 4): its own header, vectors, codes, absent
    /// bitmap and graph, read back as a segment of its own; a flip in its header fails open.
    func testFurtherDenseVector() throws {
        let points = TestPoints.make(count: 1500, dimension: 8).withLane(dimension: 5, absentEvery: 4)
        let (info, segment) = try write(points)
        XCTAssertEqual(segment.header.lanes, 1)
        let lane = try XCTUnwrap(segment.lanes.first)
        XCTAssertEqual(lane.dimension, 5)
        XCTAssertEqual(lane.metric, .dot)
        XCTAssertTrue(lane.header.hasGraph)
        XCTAssertEqual(lane.header.m, 6)
        for o in stride(from: 0, to: 1500, by: 37) {
            XCTAssertEqual(lane.hasVector(at: o), points.lanes[0][o] != nil)
            if let v = points.lanes[0][o] { XCTAssertEqual(lane.vector(at: o), v) }
            XCTAssertEqual(segment.vector(at: o), points.vectors[o], "the first vector is unchanged")
            XCTAssertEqual(lane.id(at: o), segment.id(at: o))
        }
        lane.withIndex { index in
            var visited = VisitedSet(count: 1500)
            let found = points.lanes[0][1]!.withUnsafeBufferPointer {
                index.graph!.search(index.vectors.query($0.baseAddress!), k: 20, ef: 64, visited: &visited)
            }
            XCTAssertTrue(found.allSatisfy { $0.node % 4 != 0 }, "a walk never reaches a point without the vector")
            XCTAssertEqual(found.first?.node, found.min { $0.distance < $1.distance }?.node)
        }
        try segment.verify()
        let path = directory + "/" + info.fileName
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(original[8], 4, "format version 4")
        let plain = try write(TestPoints.make(count: 50, dimension: 8)).1
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: plain.path))[8], 1, "no lanes: version 1 as before")
        // The lane header's section: found through the table, corrupted, refused at open.
        let header = try XCTUnwrap(laneHeaderOffset(original))
        var bytes = original
        bytes[header + 20] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Segment.open(path: path, fileSystem: POSIXFileSystem())) { error in
            XCTAssertEqual((error as? CorruptionError)?.offset, Int64(header))
        }
    }

    /// The offset of the first lane header section, read from the section table.
    private func laneHeaderOffset(_ file: Data) -> Int? {
        let bytes = [UInt8](file)
        func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[o + $1]) << (8 * $1) } }
        let tail = bytes.count - SegmentFormat.tailSize
        let table = u64(tail), sections = Int(bytes[tail + 8]) | Int(bytes[tail + 9]) << 8
        for i in 0..<sections {
            let e = table + i * SegmentFormat.tableEntrySize
            if Int(bytes[e]) | Int(bytes[e + 1]) << 8 == Int(SectionKind.laneHeader.rawValue) { return u64(e + 8) }
        }
        return nil
    }

    func testPointsWithoutVectors() throws {
        let points = TestPoints.make(count: 1800, dimension: 8).withSparse().withoutVectors(every: 3)
        let (_, segment) = try write(points)
        XCTAssertTrue(segment.header.hasAbsentVectors)
        XCTAssertTrue(segment.header.hasGraph)
        try segment.withFileBytes { XCTAssertEqual($0.loadUnaligned(fromByteOffset: 8, as: UInt16.self), 3) }
        try segment.verify()
        let present = try XCTUnwrap(segment.presentVectors())
        for o in 0..<points.count {
            XCTAssertEqual(segment.hasVector(at: o), !points.absent.contains(o), "ordinal \(o)")
            XCTAssertEqual(present[o >> 6] >> UInt64(o & 63) & 1 == 1, !points.absent.contains(o))
            XCTAssertEqual(segment.vector(at: o), points.absent.contains(o) ? [Float](repeating: 0, count: 8) : points.vectors[o])
            XCTAssertEqual(segment.sparseVectors(at: o), points.sparseVectors[o])
        }
        XCTAssertEqual(present.last! >> UInt64(1800 % 64), 0, "no bits past the last ordinal")
        var mean = [Float](repeating: 0, count: 8)
        for o in 0..<points.count where !points.absent.contains(o) { for d in 0..<8 { mean[d] += points.vectors[o][d] / 1200 } }
        for (a, b) in zip(segment.quantizerMean, mean) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        segment.withIndex { index in
            let graph = index.graph!
            XCTAssertFalse(points.absent.contains(Int(graph.entryPoint)))
            var visited = VisitedSet(count: segment.count)
            for q in stride(from: 0, to: 1800, by: 50) {
                let found = points.vectors[q].withUnsafeBufferPointer {
                    graph.search(index.vectors.query($0.baseAddress!), k: 20, ef: 64, visited: &visited)
                }
                XCTAssertEqual(found.count, 20)
                XCTAssertTrue(found.allSatisfy { !points.absent.contains(Int($0.node)) }, "a walk never reaches a point without a vector")
            }
        }
        let (_, none) = try write(TestPoints.make(count: 1100, dimension: 4).withoutVectors(every: 1, from: 0))
        XCTAssertFalse(none.header.hasGraph, "no vector, no graph")
        XCTAssertEqual(none.quantizerMean, [0, 0, 0, 0])
        XCTAssertEqual(none.presentVectors(), [UInt64](repeating: 0, count: 18))
        try none.verify()
    }

    func testSmallSegmentHasNoGraph() throws {
        let (_, segment) = try write(TestPoints.make(count: 10, dimension: 4))
        XCTAssertFalse(segment.header.hasGraph)
        segment.withIndex { XCTAssertNil($0.graph) }
        try segment.verify()
    }

    func testRefusesUnsortedAndEmptyInput() {
        var points = TestPoints.make(count: 10, dimension: 4)
        points.ids.swapAt(3, 4)
        XCTAssertThrowsError(try write(points)) { XCTAssertEqual("\($0)", "segment input ids are not strictly ascending at ordinal 4") }
        points.ids[4] = points.ids[3]
        XCTAssertThrowsError(try write(points))
        XCTAssertThrowsError(try write(TestPoints(ids: [], versions: [], vectors: [], payloads: [])))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [], "a refused write leaves nothing")
    }

    /// Every section, corrupted in turn, is reported by verify() at that section's offset;
    /// opening (which reads only header, table and tail) still succeeds.
    func testEverySectionCorruptionIsDetected() throws {
        let points = TestPoints.make(count: 1200, dimension: 8).withSparse().withoutVectors(every: 7).withLane(dimension: 5, absentEvery: 10)
            .withLane(dimension: 3, absentEvery: 5, multivector: true)
        let (info, segment) = try write(points)
        let path = directory + "/" + info.fileName
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let (lane, multi) = (segment.lanes[0], segment.lanes[1])
        XCTAssertEqual(Set(segment.sections.keys).union(lane.sections.keys).union(multi.sections.keys).union([.laneHeader]), Set(SectionKind.allCases))
        let laneOwn = lane.sections.values.filter { e in !segment.sections.values.contains(e) }
        XCTAssertEqual(laneOwn.count, 8, "vectors, mean, codes, four graph sections, absent bitmap")
        let multiOwn = multi.sections.values.filter { e in !segment.sections.values.contains(e) }
        XCTAssertEqual(multiOwn.count, 5, "vectors, mean, codes, offsets, absent bitmap")
        XCTAssertTrue(multi.header.multivector && !multi.header.hasGraph)
        for o in 0..<1200 { XCTAssertEqual(multi.multivector(at: o), points.lanes[1][o], "ordinal \(o)") }
        for entry in Array(segment.sections.values) + laneOwn + multiOwn where entry.length > 0 {
            var bytes = original
            bytes[entry.offset + entry.length / 2] ^= 0x10
            try bytes.write(to: URL(fileURLWithPath: path))
            if entry.kind == .sparseNames || entry.kind == .absentVectors || entry.kind == .laneHeader {  // read, hence checked, at open
                XCTAssertThrowsError(try Segment.open(path: path, fileSystem: POSIXFileSystem())) { error in
                    XCTAssertEqual((error as? CorruptionError)?.offset, Int64(entry.offset))
                }
                continue
            }
            let reopened = try Segment.open(path: path, fileSystem: POSIXFileSystem())
            XCTAssertThrowsError(try reopened.verify(), "\(entry.kind)") { error in
                guard let c = error as? CorruptionError else { return XCTFail("\(error)") }
                XCTAssertEqual(c.file, path)
                XCTAssertEqual(c.offset, Int64(entry.offset), "\(entry.kind)")
            }
        }
        try original.write(to: URL(fileURLWithPath: path))
        try Segment.open(path: path, fileSystem: POSIXFileSystem()).verify()
    }

    /// A flip in the header, the section table or the tail is caught at open, naming the offset.
    func testHeaderTableAndTailCorruptionFailOpen() throws {
        let (info, segment) = try write(TestPoints.make(count: 100, dimension: 8))
        let path = directory + "/" + info.fileName
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let tableOffset = original.count - SegmentFormat.tailSize - segment.sections.count * SegmentFormat.tableEntrySize
        for (offset, expected) in [(5, 0), (20, 0), (tableOffset + 10, tableOffset), (original.count - 20, original.count - 32), (original.count - 1, original.count - 32)] {
            var bytes = original
            bytes[offset] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Segment.open(path: path, fileSystem: POSIXFileSystem()), "flip at \(offset)") { error in
                XCTAssertEqual((error as? CorruptionError)?.offset, Int64(expected), "flip at \(offset): \(error)")
            }
        }
        for length in [0, 40, original.count - 1] {  // truncated files
            try original.prefix(length).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Segment.open(path: path, fileSystem: POSIXFileSystem()), "truncated to \(length)")
        }
    }

    func testCorruptPayloadBlockIsAnErrorOnRead() throws {
        let points = TestPoints.make(count: 400, dimension: 4)
        let (info, segment) = try write(points)
        let path = directory + "/" + info.fileName
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[segment.sections[.payloadData]!.offset + 3] ^= 0x80
        try bytes.write(to: URL(fileURLWithPath: path))
        let damaged = try Segment.open(path: path, fileSystem: POSIXFileSystem())
        XCTAssertThrowsError(try damaged.payload(at: 0)) { error in
            XCTAssertEqual((error as? CorruptionError)?.offset, Int64(segment.sections[.payloadData]!.offset))
        }
        XCTAssertThrowsError(try damaged.payloadBlock(holding: 1)) { error in
            XCTAssertEqual((error as? CorruptionError)?.offset, Int64(segment.sections[.payloadData]!.offset))
        }
    }

    /// The writer publishes durably: after a power loss the segment is there and whole.
    func testSegmentSurvivesPowerLossOncePublished() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db/segments")
        let info = try SegmentWriter.write(
            TestPoints.make(count: 30, dimension: 4), options: SegmentIndexOptions(metric: .dot), directory: "/db/segments", fileSystem: fs)
        fs.simulatePowerLoss()
        XCTAssertEqual(try fs.listDirectory("/db/segments"), [info.fileName])
        try Segment.open(path: "/db/segments/" + info.fileName, fileSystem: fs).verify()
    }

    func testFailedWriteLeavesNothing() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db/segments")
        fs.inject(.init(.write, nth: 3, errno: ENOSPC))
        XCTAssertThrowsError(try SegmentWriter.write(
            TestPoints.make(count: 30, dimension: 4), options: SegmentIndexOptions(metric: .dot), directory: "/db/segments", fileSystem: fs))
        XCTAssertEqual(try fs.listDirectory("/db/segments"), [])
    }
}
