import HSDBCore

/// `rounds` copies of `original`, each with one bit flipped: the last byte first, then
/// bytes chosen by a seeded generator (so a failure replays), for damage tests.
public func bitFlippedCopies(of original: [UInt8], rounds: Int, seed: UInt64) -> [(offset: Int, bytes: [UInt8])] {
    var rng = SplitMix64(seed: seed)
    return (0..<rounds).map { round in
        var bytes = original
        let offset = round == 0 ? bytes.count - 1 : Int(rng.next() % UInt64(bytes.count))
        bytes[offset] ^= UInt8(1 << (rng.next() % 8))
        return (offset, bytes)
    }
}
