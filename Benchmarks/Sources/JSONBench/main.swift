// Decoding a 384-dim upsert body, the way qdrant-client writes it (each float32 widened to a
// Python float: up to 17 significant digits), with hsdb's JSONParser and with Foundation's
// JSONSerialization and JSONDecoder in the same run.
// Usage: JSONBench --base base.f16 [--bodies 2000] [--rounds 5]
import Foundation
import HSDB

var base = "", bodies = 2000, rounds = 5
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--base": base = args.next()!
    case "--bodies": bodies = Int(args.next()!)!
    case "--rounds": rounds = Int(args.next()!)!
    default: fatalError("unknown argument \(a)")
    }
}
let dimension = 384
let raw = try Data(contentsOf: URL(fileURLWithPath: base), options: .alwaysMapped)
// Python's repr of a float32 value widened to double: the shortest text that round-trips the double.
let texts: [[UInt8]] = (0..<bodies).map { r in
    let values = (0..<dimension).map { i in
        Double(Float(Float16(bitPattern: raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: (r * dimension + i) * 2, as: UInt16.self) })))
    }
    return Array("{\"points\":[{\"id\":\(r),\"vector\":[\(values.map { "\($0)" }.joined(separator: ",")),],\"payload\":{\"source\":\"bench\"}}]}"
        .replacingOccurrences(of: ",]", with: "]").utf8)
}
let totalBytes = texts.reduce(0) { $0 + $1.count }

struct Body: Decodable {
    struct P: Decodable { let id: Int; let vector: [Float]; let payload: [String: String] }
    let points: [P]
}

@MainActor func measure(_ name: String, _ body: ([UInt8]) throws -> Int) rethrows {
    var best = Double.infinity
    var check = 0
    for _ in 0..<rounds {
        let start = ContinuousClock.now
        for t in texts { check &+= try body(t) }
        best = min(best, (ContinuousClock.now - start) / .seconds(1))
    }
    let perBody = best / Double(bodies)
    print("{\"decoder\":\"\(name)\",\"us_per_body\":\(String(format: "%.2f", perBody * 1e6)),\"mb_per_s\":\(String(format: "%.1f", Double(totalBytes) / best / 1e6)),\"bytes_per_body\":\(totalBytes / bodies),\"check\":\(check % 1000)}")
}

try measure("hsdb JSONParser (to [Float])") { t in
    guard case .object(let o) = try JSONParser.parse(t), case .array(let points) = o["points"], case .object(let p) = points[0],
        case .array(let v) = p["vector"]
    else { fatalError() }
    var floats = [Float]()
    floats.reserveCapacity(v.count)
    for x in v { if case .double(let d) = x { floats.append(Float(d)) } else if case .int(let i) = x { floats.append(Float(i)) } }
    return floats.count
}
try measure("Foundation JSONSerialization") { t in
    let o = try JSONSerialization.jsonObject(with: Data(t)) as! [String: Any]
    let p = (o["points"] as! [[String: Any]])[0]
    return (p["vector"] as! [NSNumber]).map { $0.floatValue }.count
}
try measure("Foundation JSONDecoder (Codable)") { t in
    try JSONDecoder().decode(Body.self, from: Data(t)).points[0].vector.count
}
