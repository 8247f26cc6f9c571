import HSDBCore
import HTTPTypes
import Hummingbird
import NIOCore

/// Qdrant's response envelopes: `{"result": ..., "status": "ok", "time": seconds}` for
/// success, `{"status": {"error": "..."}, "time": seconds}` for errors.
enum Envelope {
    static func ok(since start: ContinuousClock.Instant, status: HTTPResponse.Status = .ok, _ result: (inout JSONTextWriter) -> Void) -> Response {
        var w = JSONTextWriter(capacity: 1024)
        w.beginObject()
        w.key("result")
        result(&w)
        w.key("status")
        w.string("ok")
        w.key("time")
        w.double(seconds(since: start))
        w.endObject()
        return json(w.bytes, status: status)
    }

    /// Qdrant's `UpdateResult`: the operation's id (hsdb: its LSN) and whether it was applied
    /// and made durable (`wait=true`: `completed`) or only acknowledged.
    static func updated(since start: ContinuousClock.Instant, lsn: UInt64?, wait: Bool) -> Response {
        ok(since: start) { w in writeUpdateResult(lsn: lsn, wait: wait, to: &w) }
    }

    static func writeUpdateResult(lsn: UInt64?, wait: Bool, to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("operation_id")
        w.int(lsn ?? 0)
        w.key("status")
        w.string(wait ? "completed" : "acknowledged")
        w.endObject()
    }

    /// An accepted asynchronous operation (202, no result).
    static func accepted(since start: ContinuousClock.Instant) -> Response {
        var w = JSONTextWriter()
        w.beginObject()
        w.key("status")
        w.string("accepted")
        w.key("time")
        w.double(seconds(since: start))
        w.endObject()
        return json(w.bytes, status: .accepted)
    }

    static func error(_ error: APIError, since start: ContinuousClock.Instant) -> Response {
        var response = json(errorBytes(error, since: start), status: error.status)
        if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        if let location = error.location { response.headers[.location] = location }
        return response
    }

    static func errorBytes(_ error: APIError, since start: ContinuousClock.Instant) -> [UInt8] {
        var w = JSONTextWriter()
        w.beginObject()
        w.key("status")
        w.beginObject()
        w.key("error")
        w.string(error.message)
        w.endObject()
        w.key("time")
        w.double(seconds(since: start))
        w.endObject()
        return w.bytes
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func text(_ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
