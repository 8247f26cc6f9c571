/// What goes wrong talking to etcd, with the call and the endpoint named.
public enum EtcdError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A body hsdb built does not fit etcd's message (a bug here, caught before sending).
    case badRequest(call: String, reason: String)
    /// No endpoint could be reached, or each failed mid-call.
    case unreachable(call: String, reason: String)
    /// etcd answered with an error (`code` is etcd's gRPC code: 5 not found, 14 unavailable).
    case refused(call: String, status: Int, code: Int?, message: String)
    /// The answer is not what etcd's API says it is.
    case badAnswer(call: String, reason: String)

    public var description: String {
        switch self {
        case .badRequest(let call, let why): "etcd \(call): the request is malformed: \(why)"
        case .unreachable(let call, let why): "etcd \(call): \(why)"
        case .refused(let call, let status, let code, let message):
            "etcd \(call) answered \(status)\(code.map { " (code \($0))" } ?? ""): \(message)"
        case .badAnswer(let call, let why): "etcd \(call): unexpected answer: \(why)"
        }
    }

    /// etcd said the lease does not exist (expired or revoked).
    public var isLeaseNotFound: Bool {
        if case .refused(_, _, let code, let message) = self { return code == 5 || message.contains("lease not found") }
        return false
    }
}
