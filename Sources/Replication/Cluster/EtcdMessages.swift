import Foundation

// The request and answer bodies of etcd's v3 HTTP/JSON gateway that hsdb uses, as typed
// values: etcd ignores fields it does not know (a misspelled `create_revision` once turned a
// guard into "key absent"), so every name is spelled once, here, and `EtcdRequest.validate`
// checks each body before it is sent. Keys and values travel base64; int64 fields travel as
// JSON strings (lease IDs pass 2^53) and zero values are left out of answers.

/// An int64 that etcd writes as a JSON string; sent as a string, read from either.
public struct EtcdInt: Codable, Sendable, Equatable, Hashable, ExpressibleByIntegerLiteral {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }
    public init(integerLiteral value: Int64) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            guard let v = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an int64")
            }
            value = v
        } else {
            value = try c.decode(Int64.self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(String(value))
    }
}

/// Bytes that travel base64 (keys, values, range ends).
public struct EtcdBytes: Codable, Sendable, Equatable, Hashable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { bytes = Array(text.utf8) }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not base64")
        }
        bytes = Array(data)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Data(bytes).base64EncodedString())
    }

    /// The smallest key past every key that starts with these bytes (etcd's `range_end` of
    /// a prefix).
    public var prefixEnd: EtcdBytes {
        var end = bytes
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return EtcdBytes(end)
            }
            end.removeLast()
        }
        return EtcdBytes([0])  // every key (etcd's "\0" range end)
    }
}

public struct EtcdKeyValue: Decodable, Sendable, Equatable {
    public var key: EtcdBytes
    public var value: EtcdBytes?
    public var createRevision: EtcdInt?
    public var modRevision: EtcdInt?
    public var version: EtcdInt?
    public var lease: EtcdInt?

    enum CodingKeys: String, CodingKey {
        case key, value, version, lease
        case createRevision = "create_revision"
        case modRevision = "mod_revision"
    }

    public var modified: Int64 { modRevision?.value ?? 0 }
    public var leaseID: Int64 { lease?.value ?? 0 }
}

public struct EtcdHeader: Decodable, Sendable {
    public var revision: EtcdInt?
}

// MARK: Requests

/// A key, or the keys from it up to `rangeEnd`: the body of a range (get) and of a
/// delete-range, which etcd spells the same way.
public struct EtcdKeyRange: Encodable, Sendable {
    var key: EtcdBytes
    var rangeEnd: EtcdBytes?

    enum CodingKeys: String, CodingKey {
        case key
        case rangeEnd = "range_end"
    }
}

public struct EtcdPutRequest: Encodable, Sendable {
    var key: EtcdBytes
    var value: EtcdBytes
    var lease: EtcdInt?
}

/// One guard of a transaction: the key's create or mod revision, value or lease compared.
public struct EtcdCompare: Encodable, Sendable {
    public enum Target: String, Encodable, Sendable { case create = "CREATE", mod = "MOD", value = "VALUE", lease = "LEASE" }
    public enum Result: String, Encodable, Sendable { case equal = "EQUAL", notEqual = "NOT_EQUAL" }

    var key: EtcdBytes
    var target: Target
    var result: Result
    var createRevision: EtcdInt?
    var modRevision: EtcdInt?
    var value: EtcdBytes?
    var lease: EtcdInt?

    enum CodingKeys: String, CodingKey {
        case key, target, result, value, lease
        case createRevision = "create_revision"
        case modRevision = "mod_revision"
    }

    /// The key does not exist (its create revision is 0).
    public static func absent(_ key: String) -> EtcdCompare {
        EtcdCompare(key: EtcdBytes(key), target: .create, result: .equal, createRevision: 0)
    }

    /// The key was last modified at `revision` (0: it does not exist).
    public static func modified(_ key: String, at revision: Int64) -> EtcdCompare {
        EtcdCompare(key: EtcdBytes(key), target: .mod, result: .equal, modRevision: EtcdInt(revision))
    }

    /// The key holds exactly `value`.
    public static func holds(_ key: String, _ value: [UInt8]) -> EtcdCompare {
        EtcdCompare(key: EtcdBytes(key), target: .value, result: .equal, value: EtcdBytes(value))
    }

    /// The key is attached to `lease`.
    public static func leased(_ key: String, to lease: Int64) -> EtcdCompare {
        EtcdCompare(key: EtcdBytes(key), target: .lease, result: .equal, lease: EtcdInt(lease))
    }
}

/// One operation of a transaction's branch.
public struct EtcdOperation: Encodable, Sendable {
    var requestRange: EtcdKeyRange?
    var requestPut: EtcdPutRequest?
    var requestDeleteRange: EtcdKeyRange?

    enum CodingKeys: String, CodingKey {
        case requestRange = "request_range"
        case requestPut = "request_put"
        case requestDeleteRange = "request_delete_range"
    }

    public static func get(_ key: String) -> EtcdOperation {
        EtcdOperation(requestRange: EtcdKeyRange(key: EtcdBytes(key)))
    }

    public static func put(_ key: String, _ value: [UInt8], lease: Int64? = nil) -> EtcdOperation {
        EtcdOperation(requestPut: EtcdPutRequest(key: EtcdBytes(key), value: EtcdBytes(value), lease: lease.map { EtcdInt($0) }))
    }

    public static func delete(_ key: String) -> EtcdOperation {
        EtcdOperation(requestDeleteRange: EtcdKeyRange(key: EtcdBytes(key)))
    }
}

public struct EtcdTxnRequest: Encodable, Sendable {
    var compare: [EtcdCompare]
    var success: [EtcdOperation]
    var failure: [EtcdOperation]
}

struct EtcdLeaseGrantRequest: Encodable, Sendable {
    var ttl: EtcdInt
    enum CodingKeys: String, CodingKey { case ttl = "TTL" }
}

struct EtcdLeaseIDRequest: Encodable, Sendable {
    var id: EtcdInt
    enum CodingKeys: String, CodingKey { case id = "ID" }
}

struct EtcdWatchRequest: Encodable, Sendable {
    struct Create: Encodable, Sendable {
        var key: EtcdBytes
        var startRevision: EtcdInt?
        enum CodingKeys: String, CodingKey {
            case key
            case startRevision = "start_revision"
        }
    }
    var createRequest: Create
    enum CodingKeys: String, CodingKey { case createRequest = "create_request" }
}

// MARK: Answers

struct EtcdRangeAnswer: Decodable, Sendable {
    var header: EtcdHeader?
    var kvs: [EtcdKeyValue]?
}

struct EtcdTxnAnswer: Decodable, Sendable {
    struct Response: Decodable, Sendable {
        var responseRange: EtcdRangeAnswer?
        enum CodingKeys: String, CodingKey { case responseRange = "response_range" }
    }
    var header: EtcdHeader?
    var succeeded: Bool?
    var responses: [Response]?
}

struct EtcdLeaseAnswer: Decodable, Sendable {
    var id: EtcdInt?
    var ttl: EtcdInt?
    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case ttl = "TTL"
    }
}

/// Streamed answers (keepalive, watch) come wrapped as `{"result": ...}`.
struct EtcdStreamed<T: Decodable & Sendable>: Decodable, Sendable {
    var result: T?
}

struct EtcdWatchAnswer: Decodable, Sendable {
    struct Event: Decodable, Sendable {
        var type: String?  // absent: PUT (the zero value)
        var kv: EtcdKeyValue?
    }
    var header: EtcdHeader?
    var created: Bool?
    var canceled: Bool?
    var compactRevision: EtcdInt?
    var events: [Event]?
    enum CodingKeys: String, CodingKey {
        case header, created, canceled, events
        case compactRevision = "compact_revision"
    }
}

/// etcd's error body: `{"error","message","code"}` (3.4) or `{"code","message"}` (3.5).
struct EtcdErrorAnswer: Decodable, Sendable {
    var error: String?
    var message: String?
    var code: Int?
}
