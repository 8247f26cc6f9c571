/// The UnixFS `Data` message a file's DAG-PB node carries in its Data field:
///
///     message Data { required DataType Type = 1; optional bytes Data = 2;
///                    optional uint64 filesize = 3; repeated uint64 blocksizes = 4; … }
///
/// For an internal node of a raw-leaves file: Type = File, no Data, filesize = the bytes
/// under the node, one blocksizes entry per link (the file bytes under that link), written
/// unpacked (one `20 <varint>` per entry) as kubo does.
public struct UnixFSData: Hashable, Sendable {
    public var type: UnixFSType
    public var data: [UInt8]?
    public var fileSizeBytes: UInt64?
    public var blockSizesBytes: [UInt64]

    public init(type: UnixFSType, data: [UInt8]? = nil, fileSizeBytes: UInt64?, blockSizesBytes: [UInt64] = []) {
        self.type = type
        self.data = data
        self.fileSizeBytes = fileSizeBytes
        self.blockSizesBytes = blockSizesBytes
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        Protobuf.appendVarintField(UnixFSFormat.typeField, type.rawValue, to: &out)
        if let data { Protobuf.appendBytesField(UnixFSFormat.dataField, data, to: &out) }
        if let fileSizeBytes { Protobuf.appendVarintField(UnixFSFormat.fileSizeField, fileSizeBytes, to: &out) }
        for size in blockSizesBytes { Protobuf.appendVarintField(UnixFSFormat.blockSizesField, size, to: &out) }
        return out
    }

    public init(decoding bytes: [UInt8]) throws(ArchiveCodecError) {
        let all = bytes[...]
        var offset = 0
        var type: UnixFSType? = nil
        var data: [UInt8]? = nil
        var fileSize: UInt64? = nil
        var blockSizes: [UInt64] = []
        var lastField: UInt64 = 0
        while offset < bytes.count {
            let keyOffset = offset
            let (field, wireType) = try Protobuf.readKey(all, at: &offset)
            // Only blocksizes repeats; every field comes in field-number order, as kubo writes.
            guard field > lastField || (field == UnixFSFormat.blockSizesField && lastField == field) else {
                throw .nonCanonical(.unixFS, offset: keyOffset, reason: "field \(field) out of order or repeated")
            }
            lastField = field
            switch (field, wireType) {
            case (UnixFSFormat.typeField, Protobuf.varintWireType):
                let code = try Varint.read(all, at: &offset)
                guard let t = UnixFSType(rawValue: code) else {
                    throw .malformed(.unixFS, offset: keyOffset, reason: "unknown node type \(code)")
                }
                type = t
            case (UnixFSFormat.dataField, Protobuf.lengthDelimitedWireType):
                data = Array(try Protobuf.readBytes(all, at: &offset, format: .unixFS))
            case (UnixFSFormat.fileSizeField, Protobuf.varintWireType):
                fileSize = try Varint.read(all, at: &offset)
            case (UnixFSFormat.blockSizesField, Protobuf.varintWireType):
                blockSizes.append(try Varint.read(all, at: &offset))
            case (let f, Protobuf.varintWireType) where UnixFSFormat.skippedFields.contains(f):
                _ = try Varint.read(all, at: &offset)
            case (let f, Protobuf.lengthDelimitedWireType) where UnixFSFormat.skippedFields.contains(f):
                _ = try Protobuf.readBytes(all, at: &offset, format: .unixFS)
            default:
                throw .malformed(.unixFS, offset: keyOffset, reason: "unknown field \(field) (wire type \(wireType))")
            }
        }
        guard let type else { throw .malformed(.unixFS, offset: 0, reason: "no Type field") }
        self.init(type: type, data: data, fileSizeBytes: fileSize, blockSizesBytes: blockSizes)
    }
}
