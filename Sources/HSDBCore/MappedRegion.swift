/// Read-only bytes of a whole file: an mmap'd mapping (POSIX) or a private copy (tests).
///
/// `@unchecked Sendable` because every stored property is a `let` set in init; the bytes are
/// never written (PROT_READ for mappings, a private never-mutated copy otherwise), so concurrent
/// reads are race-free; the release closure runs only in deinit, when no reader can hold a
/// reference. The compiler cannot see this because raw pointers are not Sendable.
public final class MappedRegion: @unchecked Sendable {
    public let count: Int
    private let base: UnsafeRawPointer?
    private let release: @Sendable (UnsafeRawPointer?, Int) -> Void

    public init(base: UnsafeRawPointer?, count: Int, release: @escaping @Sendable (UnsafeRawPointer?, Int) -> Void) {
        self.base = base
        self.count = count
        self.release = release
    }

    /// A region over a private copy of `bytes`.
    public convenience init(copying bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let src = $0.baseAddress { p.copyMemory(from: src, byteCount: bytes.count) } }
        self.init(base: UnsafeRawPointer(p), count: bytes.count) { base, _ in
            UnsafeMutableRawPointer(mutating: base)?.deallocate()
        }
    }

    deinit { release(base, count) }

    /// The bytes, valid while `self` is alive: use inside `withExtendedLifetime(region)`.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(bytes) }
    }
}
