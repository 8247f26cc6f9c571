#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call on a file: which call, on which path, and the errno it returned.
public struct IOError: Error, Equatable, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    public var description: String {
        "\(operation)(\(path)) failed: \(String(cString: strerror(errno))) (\(errnoName(errno)))"
    }
}

/// Bytes on disk that fail their checksum or structure. Always names the file and the byte
/// offset so an operator can find it; `reason` never contains user data.
public struct CorruptionError: Error, Equatable, CustomStringConvertible, Sendable {
    public let file: String
    public let offset: Int64
    public let reason: String

    public init(file: String, offset: Int64, reason: String) {
        self.file = file
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "corruption in \(file) at offset \(offset): \(reason)" }
}

/// The symbolic name of the errno values hsdb reports most, for messages and tests.
public func errnoName(_ code: Int32) -> String {
    switch code {
    case EIO: return "EIO"
    case ENOSPC: return "ENOSPC"
    case EDQUOT: return "EDQUOT"
    case ENOENT: return "ENOENT"
    case EEXIST: return "EEXIST"
    case EACCES: return "EACCES"
    case EROFS: return "EROFS"
    case EWOULDBLOCK: return "EWOULDBLOCK"
    case EBADF: return "EBADF"
    case ENOTDIR: return "ENOTDIR"
    case EISDIR: return "EISDIR"
    case ENOTEMPTY: return "ENOTEMPTY"
    case EINVAL: return "EINVAL"
    default: return "errno \(code)"
    }
}
