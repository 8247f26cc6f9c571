import Foundation
import HSDBCore
import NIOCore
import Synchronization

/// etcd's v3 API over its HTTP/JSON gateway (`/v3/kv/*`, `/v3/lease/*`, `/v3/watch`), the
/// calls hsdb's election needs. One connection per call, as `LeaderClient`; the endpoints
/// are tried in turn, starting from the last one that answered, so one etcd member down
/// costs a failed connect, not the call. Every body is checked against etcd's message
/// before it is sent (`EtcdRequestCheck`).
public final class EtcdClient: Sendable {
    let clients: [LeaderClient]
    let requestTimeout: TimeAmount
    private let preferred = Mutex(0)

    /// `endpoints`: etcd's client URLs (`http://host:2379`).
    public init(endpoints: [String], requestTimeout: Duration = .seconds(3)) throws(ReplicationError) {
        guard !endpoints.isEmpty else { throw .io("no etcd endpoint given") }
        var clients: [LeaderClient] = []
        for endpoint in endpoints {
            var client = try LeaderClient(leader: endpoint, apiKey: nil, peer: "etcd")
            client.short = true
            clients.append(client)
        }
        self.clients = clients
        self.requestTimeout = TimeAmount(requestTimeout)
    }

    public var endpoints: [String] { clients.map(\.base) }

    // MARK: Keys

    /// The key's entry, and the store's revision when it was read.
    public func get(_ key: String) async throws(EtcdError) -> (EtcdKeyValue?, revision: Int64) {
        let answer: EtcdRangeAnswer = try await call(
            "range", "/v3/kv/range", EtcdKeyRange(key: EtcdBytes(key)), shape: EtcdRequestCheck.range)
        return (answer.kvs?.first, answer.header?.revision?.value ?? 0)
    }

    /// Every entry whose key starts with `prefix`, in key order.
    public func list(prefix: String) async throws(EtcdError) -> [EtcdKeyValue] {
        let key = EtcdBytes(prefix)
        let answer: EtcdRangeAnswer = try await call(
            "range", "/v3/kv/range", EtcdKeyRange(key: key, rangeEnd: key.prefixEnd), shape: EtcdRequestCheck.range)
        return answer.kvs ?? []
    }

    public func put(_ key: String, _ value: [UInt8], lease: Int64? = nil) async throws(EtcdError) {
        let _: EtcdRangeAnswer = try await call(
            "put", "/v3/kv/put", EtcdPutRequest(key: EtcdBytes(key), value: EtcdBytes(value), lease: lease.map { EtcdInt($0) }),
            shape: EtcdRequestCheck.put)
    }

    public func delete(_ key: String) async throws(EtcdError) {
        let _: EtcdRangeAnswer = try await call(
            "delete", "/v3/kv/deleterange", EtcdKeyRange(key: EtcdBytes(key)), shape: EtcdRequestCheck.range)
    }

    /// Runs `success` when every compare holds, else `failure`; returns which, with the
    /// entries the failure branch's gets read.
    public func txn(
        if compare: [EtcdCompare], then success: [EtcdOperation], else failure: [EtcdOperation] = []
    ) async throws(EtcdError) -> (succeeded: Bool, read: [EtcdKeyValue]) {
        let answer: EtcdTxnAnswer = try await call(
            "txn", "/v3/kv/txn", EtcdTxnRequest(compare: compare, success: success, failure: failure),
            shape: EtcdRequestCheck.txn)
        let read = (answer.responses ?? []).flatMap { $0.responseRange?.kvs ?? [] }
        return (answer.succeeded ?? false, read)
    }

    // MARK: Leases

    /// A new lease; returns its ID and the TTL etcd granted (it may grant more than asked).
    public func grantLease(ttl seconds: Int) async throws(EtcdError) -> (id: Int64, ttl: Int) {
        guard seconds >= 1 else { throw .badRequest(call: "lease grant", reason: "TTL \(seconds) s: at least 1") }
        let answer: EtcdLeaseAnswer = try await call(
            "lease grant", "/v3/lease/grant", EtcdLeaseGrantRequest(ttl: EtcdInt(Int64(seconds))),
            shape: EtcdRequestCheck.leaseGrant)
        guard let id = answer.id?.value, id != 0, let ttl = answer.ttl?.value, ttl > 0 else {
            throw .badAnswer(call: "lease grant", reason: "no ID or TTL")
        }
        return (id, Int(ttl))
    }

    /// Renews the lease; returns its TTL from now, or nil when etcd no longer has it (a
    /// keepalive on an expired lease answers 200 with no TTL).
    public func keepAlive(_ lease: Int64) async throws(EtcdError) -> Int? {
        let answer: EtcdStreamed<EtcdLeaseAnswer> = try await call(
            "lease keepalive", "/v3/lease/keepalive", EtcdLeaseIDRequest(id: EtcdInt(lease)),
            shape: EtcdRequestCheck.leaseID)
        guard let ttl = answer.result?.ttl?.value, ttl > 0 else { return nil }
        return Int(ttl)
    }

    /// Ends the lease at once, deleting the keys attached to it. A lease already gone is fine.
    public func revoke(_ lease: Int64) async throws(EtcdError) {
        do {
            let _: EtcdLeaseAnswer = try await call(
                "lease revoke", "/v3/lease/revoke", EtcdLeaseIDRequest(id: EtcdInt(lease)), shape: EtcdRequestCheck.leaseID)
        } catch where error.isLeaseNotFound {
        }
    }

    // MARK: Watch

    /// Waits for the first change of `key` at or after `revision` and returns its events
    /// (`nil` value: deleted); returns an empty list when nothing changed within `timeout`
    /// or the stream broke (the caller reads the key again either way).
    public func awaitChange(of key: String, from revision: Int64, timeout: Duration) async -> [EtcdWatchEvent] {
        let body = EtcdWatchRequest(createRequest: .init(key: EtcdBytes(key), startRevision: EtcdInt(revision)))
        guard let bytes = try? encode(body, call: "watch", shape: EtcdRequestCheck.watch) else { return [] }
        let client = clients[preferred.withLock { $0 }]
        let request = client.request(.POST, "/v3/watch", readTimeout: TimeAmount(timeout), json: bytes)
        return (try? await client.send(request) { response in
            var line = ByteBuffer()
            while var chunk = try await response.next() {
                line.writeBuffer(&chunk)
                while let end = line.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let text = line.readSlice(length: end - line.readerIndex + 1)!
                    let answer = try JSONDecoder().decode(EtcdStreamed<EtcdWatchAnswer>.self, from: Data(text.readableBytesView))
                    let events = (answer.result?.events ?? []).compactMap(EtcdWatchEvent.init)
                    if !events.isEmpty || answer.result?.canceled == true { return events }
                }
                line.discardReadBytes()
            }
            return []
        }) ?? []
    }

    // MARK: Transport

    func encode<Body: Encodable>(_ body: Body, call: String, shape: EtcdRequestCheck.Shape) throws(EtcdError) -> [UInt8] {
        let bytes: [UInt8]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do { bytes = Array(try encoder.encode(body)) } catch {
            throw .badRequest(call: call, reason: "cannot encode: \(error)")
        }
        try EtcdRequestCheck.check(bytes, against: shape, call: call)
        return bytes
    }

    private func call<Body: Encodable, Answer: Decodable>(
        _ name: String, _ path: String, _ body: Body, shape: EtcdRequestCheck.Shape
    ) async throws(EtcdError) -> Answer {
        let bytes = try encode(body, call: name, shape: shape)
        let first = preferred.withLock { $0 }
        var failures: [String] = []
        for step in 0..<clients.count {
            let index = (first + step) % clients.count
            let client = clients[index]
            let answer: (status: UInt, body: ByteBuffer)
            do {
                answer = try await client.send(
                    client.request(.POST, path, readTimeout: requestTimeout, json: bytes), accepting: Set(200..<600)
                ) { response in (response.status, try await response.collect(upTo: 16 << 20)) }
            } catch {
                failures.append("\(client.base): \(error)")
                continue
            }
            preferred.withLock { $0 = index }
            return try decode(answer, call: name)
        }
        throw .unreachable(call: name, reason: failures.joined(separator: "; "))
    }

    private func decode<Answer: Decodable>(_ answer: (status: UInt, body: ByteBuffer), call: String) throws(EtcdError) -> Answer {
        let data = Data(answer.body.readableBytesView)
        guard answer.status == 200 else {
            let error = try? JSONDecoder().decode(EtcdErrorAnswer.self, from: data)
            throw .refused(
                call: call, status: Int(answer.status), code: error?.code,
                message: error?.message ?? error?.error ?? String(decoding: data, as: UTF8.self))
        }
        do { return try JSONDecoder().decode(Answer.self, from: data) } catch {
            throw .badAnswer(call: call, reason: "\(error)")
        }
    }
}

/// One change of a watched key.
public struct EtcdWatchEvent: Sendable, Equatable {
    public var key: String
    /// nil: the key was deleted (or its lease expired).
    public var value: [UInt8]?
    public var revision: Int64

    init?(_ event: EtcdWatchAnswer.Event) {
        guard let kv = event.kv else { return nil }
        key = kv.key.text
        value = event.type == "DELETE" ? nil : (kv.value?.bytes ?? [])
        revision = kv.modified
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
