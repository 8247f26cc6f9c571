/// The CARv1 header: the DAG-CBOR map `{"roots": [CID, …], "version": 1}`, keys in canonical
/// order ("roots" is shorter, so it comes first). One or more roots, as the spec requires.
public struct CARHeader: Hashable, Sendable {
    public let roots: [CID]

    /// REQUIRES: at least one root.
    public init(roots: [CID]) {
        precondition(!roots.isEmpty, "a CAR header has at least one root")
        self.roots = roots
    }

    public func encoded() -> [UInt8] {
        DAGCBOR.map([
            CARFormat.rootsKey: .array(roots.map { .link($0) }),
            CARFormat.versionKey: .unsigned(CARFormat.version),
        ]).encoded()
    }

    /// Refuses anything but exactly the two keys, version 1 (naming CARv2 when it sees its
    /// pragma) and a non-empty list of links.
    public init(decoding bytes: [UInt8]) throws(ArchiveCodecError) {
        let value = try DAGCBOR(decoding: bytes)
        guard case .map(let entries) = value else { throw .carFormat(reason: "header is not a map") }
        guard let version = entries[CARFormat.versionKey], case .unsigned(let v) = version else {
            throw .carFormat(reason: "header has no version")
        }
        guard v == CARFormat.version else {
            let hint = v == 2 ? " (a CARv2 file; only CARv1 is read)" : ""
            throw .carFormat(reason: "CAR version \(v)\(hint)")
        }
        guard entries.count == 2, case .array(let items)? = entries[CARFormat.rootsKey] else {
            throw .carFormat(reason: "header must hold exactly 'roots' and 'version'")
        }
        var roots: [CID] = []
        for item in items {
            guard case .link(let cid) = item else { throw .carFormat(reason: "a root is not a CID") }
            roots.append(cid)
        }
        guard !roots.isEmpty else { throw .carFormat(reason: "header has no roots") }
        self.init(roots: roots)
    }
}
