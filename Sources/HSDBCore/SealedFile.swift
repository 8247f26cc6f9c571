/// The frame of hsdb's small metadata files (the manifest, the WAL pins):
/// `magic | body | crc u32`, the crc being mask(crc32c(every byte before it)). One codec for
/// the frame; each file decodes its own body.
public enum SealedFile {
    /// Appends the crc to a file written from its magic on.
    public static func seal(_ w: inout ByteWriter) {
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
    }

    /// Checks size, crc and magic, then decodes the body (starting right after the magic)
    /// with `body`, which must consume it all. Every failure names `path` and an offset;
    /// `what` names the kind of file in messages ("manifest").
    public static func decode<T>(
        _ bytes: [UInt8], path: String, magic: [UInt8], what: String, minimumSize: Int,
        _ body: (inout ByteReader) throws(FormatError) -> T
    ) throws(CorruptionError) -> T {
        func bad(_ offset: Int, _ reason: String) -> CorruptionError { CorruptionError(file: path, offset: Int64(offset), reason: reason) }
        guard bytes.count >= max(minimumSize, magic.count + 4) else { throw bad(0, "file is \(bytes.count) bytes, too short for a \(what)") }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self).littleEndian }
        guard stored == CRC32C.mask(CRC32C.checksum(Array(bytes[..<(bytes.count - 4)]))) else {
            throw bad(bytes.count - 4, "\(what) checksum mismatch")
        }
        guard Array(bytes[0..<magic.count]) == magic else { throw bad(0, "not a \(what) (bad magic)") }
        let result = bytes.withUnsafeBytes { raw -> Result<T, FormatError> in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 4)]), offset: magic.count)
            do throws(FormatError) {
                let value = try body(&r)
                guard r.isAtEnd else { throw FormatError.invalid(offset: r.offset, reason: "trailing bytes") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let e): throw bad(e.offset, e.description)
        }
    }
}
