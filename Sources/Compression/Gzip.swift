import CZlib

/// Reading gzip files (the shared data set's texts, imports) through zlib.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { "gzip data is malformed (zlib error \(code))" }
    }

    /// Inflates a whole gzip (or zlib) stream held in memory.
    public static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: accept both zlib and gzip headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(code: Z_STREAM_ERROR)
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while true {
                let r: Int32 = chunk.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if r == Z_STREAM_END { return Z_OK }
                if r != Z_OK { return r }
                if stream.avail_in == 0 && stream.avail_out != 0 { return Z_DATA_ERROR }  // truncated
            }
        }
        guard status == Z_OK else { throw Failure(code: status) }
        return output
    }
}
