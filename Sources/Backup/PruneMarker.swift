import HSDBCore
import IPLD

/// `PRUNED` in a backup directory: the chain starts at backup `first` (a full one), whose
/// `previous` link names a root that was deliberately removed. Without it, a chain must start
/// at backup 1, so a CAR deleted by accident is still found. DESIGN.md, "Pruning".
///
///     hsdb-backup-pruned 1\n
///     first <sequence, decimal>\n
///     previous <CID, base32 text>\n
///     crc32c <masked CRC32C of every byte before this line, 8 lowercase hex digits>\n
struct PruneMarker: Equatable {
    static let fileName = "PRUNED"
    static let magicLine = "hsdb-backup-pruned 1"

    /// The first backup the directory holds.
    let first: UInt64
    /// The root of backup `first - 1`, which the first backup links and which is gone.
    let previous: CID

    func encoded() -> [UInt8] {
        let body = Array("\(Self.magicLine)\nfirst \(first)\nprevious \(previous.text)\n".utf8)
        return body + Array("crc32c \(Self.hex8(CRC32C.mask(CRC32C.checksum(body))))\n".utf8)
    }

    /// Decodes the marker at `path`; every problem names the file and the offset of its line.
    init(decoding bytes: [UInt8], path: String) throws(BackupError) {
        func problem(_ offset: Int, _ reason: String) -> BackupError {
            .problem(file: path, offset: Int64(offset), cid: nil, reason: reason)
        }
        var lines: [(offset: Int, text: String)] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lines.append((start, String(decoding: bytes[start..<i], as: UTF8.self)))
            start = i + 1
        }
        guard start == bytes.count, lines.count == 4 else { throw problem(start, "not four newline-ended lines") }
        guard lines[0].text == Self.magicLine else { throw problem(0, "not a prune marker (first line is not `\(Self.magicLine)`)") }
        let crcLine = lines[3]
        let body = Array(bytes[0..<crcLine.offset])
        guard crcLine.text == "crc32c " + Self.hex8(CRC32C.mask(CRC32C.checksum(body))) else {
            throw problem(crcLine.offset, "checksum mismatch")
        }
        guard lines[1].text.hasPrefix("first "), let first = UInt64(lines[1].text.dropFirst(6)), first > 1 else {
            throw problem(lines[1].offset, "bad `first` line")
        }
        guard lines[2].text.hasPrefix("previous "), let previous = try? CID(text: String(lines[2].text.dropFirst(9))) else {
            throw problem(lines[2].offset, "bad `previous` line")
        }
        self.first = first
        self.previous = previous
    }

    init(first: UInt64, previous: CID) {
        self.first = first
        self.previous = previous
    }

    /// The directory's marker, or nil when it has none.
    static func read(directory: String, fs: any FileSystem) throws(BackupError) -> PruneMarker? {
        let path = directory + "/" + fileName
        guard fs.fileExists(path) else { return nil }
        let bytes: [UInt8]
        do { bytes = try fs.readFile(path) } catch { throw .engine("cannot read \(path): \(error)") }
        return try PruneMarker(decoding: bytes, path: path)
    }

    private static func hex8(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
