import HSDB
import HTTPTypes
import Hummingbird

/// An error answered in Qdrant's envelope: `{"status": {"error": "<message>"}, "time": ...}`
/// with Qdrant's status code and message prefix, so clients that parse Qdrant's errors
/// understand ours.
///
/// The decoders throw it untyped (`throws`, not `throws(APIError)`): with typed throws in these
/// async handlers the Swift 6.3.1 release compiler crashed (signal 11 in LLVM's coroutine
/// splitting, `emitSetAndGetSwiftErrorValueAround`).
struct APIError: Error, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    /// Seconds for the `Retry-After` header of a 429 (rate limits).
    var retryAfterSeconds: Int?
    /// The `Location` header of a redirect (a cluster follower sends writes to its leader).
    var location: String?

    var description: String { message }

    init(status: HTTPResponse.Status, message: String) {
        self.status = status
        self.message = message
    }

    /// 400 for a request that is well-formed JSON but wrong (Qdrant: "Wrong input: ...").
    static func wrongInput(_ reason: String) -> APIError { APIError(status: .badRequest, message: "Wrong input: \(reason)") }

    /// 400 for a body that is not the JSON the endpoint takes.
    static func format(_ reason: String) -> APIError {
        APIError(status: .badRequest, message: "Format error in JSON body: \(reason)")
    }

    static func notFound(_ what: String) -> APIError { APIError(status: .notFound, message: "Not found: \(what)") }

    static func collectionNotFound(_ name: String) -> APIError { .notFound("Collection `\(name)` doesn't exist!") }

    /// Qdrant's answer to a request that parses but fails validation: 422,
    /// `Validation error in JSON body: [field: message]`.
    static func validation(_ field: String, _ message: String, in place: String = "JSON body") -> APIError {
        APIError(status: .unprocessableContent, message: "Validation error in \(place): [\(field): \(message)]")
    }

    static func unsupported(_ feature: String) -> APIError {
        .wrongInput("\(feature) is not supported by hsdb (see DESIGN.md, \"HTTP API\")")
    }

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "Payload too large: the request body is larger than the limit of \(limit) bytes")
    }

    static let forbidden = APIError(status: .forbidden, message: "Invalid api-key")
    static let unauthorized = APIError(status: .unauthorized, message: "Must provide an API key or an Authorization bearer token")

    /// The HTTP form of an engine error.
    init(_ error: HSDBError) {
        switch error {
        case .invalidArgument(let m): self = .wrongInput(m)
        case .collectionNotFound(let name): self = .collectionNotFound(name)
        case .collectionAlreadyExists(let name): self = .wrongInput("Collection `\(name)` already exists!").with(status: .conflict)
        case .pointNotFound(let id): self = .notFound("No point with id \(id) found")
        case .aliasNotFound(let name): self = .notFound("Alias `\(name)` doesn't exist!")
        case .walNotRetained(let m): self.init(status: .conflict, message: m)
        case .readOnly, .closed:
            self.init(status: .serviceUnavailable, message: "Service unavailable: \(error)")
        case .databaseLocked, .notADatabase, .corruption, .io:
            self.init(status: .internalServerError, message: "Service internal error: \(error)")
        }
    }

    /// Any error a handler threw, as the API answers it.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as HSDBError: return APIError(e)
        case let e as FormulaError: return .wrongInput(e.description)  // Qdrant's BadInput
        case let e as any HTTPResponseError:
            if e.status == .contentTooLarge { return APIError(status: .contentTooLarge, message: "Payload too large: the request body is over the limit") }
            if e.status == .notFound { return .notFound("no such endpoint") }
            return APIError(status: e.status, message: "\(e.status.reasonPhrase): \(e)")
        default: return APIError(status: .internalServerError, message: "Service internal error: \(error)")
        }
    }

    func with(status: HTTPResponse.Status) -> APIError { APIError(status: status, message: message) }
}
