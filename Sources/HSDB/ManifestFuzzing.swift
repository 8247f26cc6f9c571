import HSDBCore

/// Manifest decoding on arbitrary bytes, for the `manifest` fuzz target. The input is a
/// manifest without its checksum: it is decoded as it is (the checksum must refuse it, or it
/// happens to be valid), then sealed with a correct checksum and decoded again, so the fuzzer
/// explores the structure behind the checksum. Properties: decoding never crashes or
/// allocates beyond the input's size, fails only with a corruption error naming the file and
/// an offset inside it, and whatever decodes re-encodes to bytes that decode to the same
/// manifest and re-encode identically.
public enum ManifestFuzzing {
    static let path = "/fuzz/MANIFEST"

    public static func run(_ data: UnsafeRawBufferPointer) {
        let body = Array(data)
        check(body)
        check(seal(body))
    }

    /// `body` followed by its checksum, as the writer seals a manifest.
    public static func seal(_ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: body.count + 4)
        w.write(bytes: body)
        w.write(CRC32C.mask(CRC32C.checksum(body)))
        return w.bytes
    }

    /// Manifests as the engine writes them (without their checksums): empty, with segments and
    /// dead ordinals, with payload indexes.
    public static func seeds() -> [[UInt8]] {
        let segment = { (n: Int, dead: [Int]) in
            Manifest.SegmentEntry(contentID: String(repeating: String(n % 10), count: 64), count: 100 * n, minLSN: UInt64(n), maxLSN: UInt64(n * 50), bytes: 4096 * n, dead: dead)
        }
        let manifests = [
            Manifest(),
            Manifest(version: 3, flushedLSN: 120, segments: [segment(1, [0, 5, 99])], payloadIndexes: [:]),
            Manifest(version: 9, flushedLSN: 9000, segments: [segment(2, []), segment(3, [7, 8, 200, 299])], payloadIndexes: ["color": .keyword, "n": .integer]),
        ]
        return manifests.map { Array($0.encode().dropLast(4)) }
    }

    static func check(_ bytes: [UInt8]) {
        let manifest: Manifest
        do {
            manifest = try Manifest.decode(bytes, path: path)
        } catch {
            precondition(error.file == path && error.offset >= 0 && error.offset <= Int64(bytes.count), "manifest: corruption error names the wrong place: \(error)")
            return
        }
        let encoded = manifest.encode()
        guard let again = try? Manifest.decode(encoded, path: path) else { fatalError("manifest: a decoded manifest re-encodes to bytes that do not decode") }
        precondition(again == manifest, "manifest: round trip changed the manifest")
        precondition(again.encode() == encoded, "manifest: encoding is not stable")
    }
}
