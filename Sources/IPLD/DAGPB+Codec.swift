/// Encoding and strict decoding of DAG-PB nodes.
extension DAGPBNode {
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for link in links {
            Protobuf.appendBytesField(DAGPBField.nodeLinks, link.encoded(), to: &out)
        }
        if let data { Protobuf.appendBytesField(DAGPBField.nodeData, data, to: &out) }
        return out
    }

    public init(decoding bytes: [UInt8]) throws(ArchiveCodecError) {
        let all = bytes[...]
        var offset = 0
        var links: [DAGPBLink] = []
        var data: [UInt8]? = nil
        while offset < bytes.count {
            let keyOffset = offset
            let (field, wireType) = try Protobuf.readKey(all, at: &offset)
            guard wireType == Protobuf.lengthDelimitedWireType else {
                throw .malformed(.dagPB, offset: keyOffset, reason: "PBNode field \(field) has wire type \(wireType)")
            }
            let body = try Protobuf.readBytes(all, at: &offset, format: .dagPB)
            switch field {
            case DAGPBField.nodeLinks:
                guard data == nil else {
                    throw .nonCanonical(.dagPB, offset: keyOffset, reason: "a link after Data")
                }
                links.append(try DAGPBLink(decoding: body, at: body.startIndex))
            case DAGPBField.nodeData:
                guard data == nil else { throw .malformed(.dagPB, offset: keyOffset, reason: "Data twice") }
                data = Array(body)
            default:
                throw .malformed(.dagPB, offset: keyOffset, reason: "unknown PBNode field \(field)")
            }
        }
        self.init(links: links, data: data)
    }
}

extension DAGPBLink {
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        Protobuf.appendBytesField(DAGPBField.linkHash, hash.bytes, to: &out)
        if let name { Protobuf.appendBytesField(DAGPBField.linkName, Array(name.utf8), to: &out) }
        if let tsize { Protobuf.appendVarintField(DAGPBField.linkTsize, tsize, to: &out) }
        return out
    }

    /// Decodes the body of one Links entry; `base` is its offset in the node, for errors.
    init(decoding body: ArraySlice<UInt8>, at base: Int) throws(ArchiveCodecError) {
        let bytes = ArraySlice(Array(body))
        var offset = 0
        var hash: CID? = nil
        var name: String? = nil
        var tsize: UInt64? = nil
        var lastField: UInt64 = 0
        while offset < bytes.count {
            let keyOffset = base + offset
            let (field, wireType) = try Protobuf.readKey(bytes, at: &offset)
            // Invariant: fields strictly ascend (Hash, Name, Tsize), so none repeats.
            guard field > lastField else {
                throw .nonCanonical(.dagPB, offset: keyOffset, reason: "PBLink field \(field) out of order or repeated")
            }
            lastField = field
            switch (field, wireType) {
            case (DAGPBField.linkHash, Protobuf.lengthDelimitedWireType):
                hash = try CID(bytes: try Protobuf.readBytes(bytes, at: &offset, format: .dagPB))
            case (DAGPBField.linkName, Protobuf.lengthDelimitedWireType):
                let raw = try Protobuf.readBytes(bytes, at: &offset, format: .dagPB)
                guard let s = String(validating: raw, as: UTF8.self) else {
                    throw .malformed(.dagPB, offset: keyOffset, reason: "link Name is not valid UTF-8")
                }
                name = s
            case (DAGPBField.linkTsize, Protobuf.varintWireType):
                tsize = try Varint.read(bytes, at: &offset)
            default:
                let reason = "unknown PBLink field \(field) (wire type \(wireType))"
                throw .malformed(.dagPB, offset: keyOffset, reason: reason)
            }
        }
        guard let hash else { throw .malformed(.dagPB, offset: base, reason: "link without a Hash") }
        self.init(hash: hash, name: name, tsize: tsize)
    }
}
