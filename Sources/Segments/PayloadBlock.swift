/// The stored payloads (`PayloadCodec` bytes) of one block of a segment: ordinals
/// `first ..< first + payloads.count`.
public struct PayloadBlock: Sendable {
    public let first: Int
    public let payloads: [[UInt8]]

    public func holds(_ ordinal: Int) -> Bool { ordinal >= first && ordinal - first < payloads.count }

    public subscript(ordinal: Int) -> [UInt8] { payloads[ordinal - first] }
}
