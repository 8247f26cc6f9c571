/// Where a leader (or any hsdb server a replication tool talks to) listens, parsed from an
/// `http://host[:port][/prefix]` URL. Only plain HTTP: replication runs inside a trusted
/// network or behind a TLS-terminating proxy (README, "Replication").
struct LeaderAddress: Sendable, Equatable {
    let host: String
    let port: Int
    /// A path prefix the routes sit under (empty for a server at the root).
    let prefix: String

    /// The URL as given, without trailing slashes: what logs and errors name.
    let url: String

    init(_ text: String) throws(ReplicationError) {
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        self.url = url
        let lower = url.lowercased()
        if lower.hasPrefix("https://") {
            throw .io("cannot use \(url): hsdb replication speaks plain http:// only; put TLS in a proxy")
        }
        guard lower.hasPrefix("http://") else {
            throw .io("cannot use '\(url)' as a server address: expected http://host[:port]")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        prefix = String(rest.dropFirst(authority.count))
        let hostPart: Substring
        let portPart: Substring?
        if authority.hasPrefix("[") {  // an IPv6 literal: [::1]:6333
            guard let close = authority.firstIndex(of: "]") else { throw .io("cannot parse the host of \(url)") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            portPart = after.isEmpty ? nil : after.hasPrefix(":") ? after.dropFirst() : nil
            if !after.isEmpty && portPart == nil { throw .io("cannot parse the port of \(url)") }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
            portPart = nil
        }
        guard !hostPart.isEmpty else { throw .io("\(url) names no host") }
        host = String(hostPart)
        if let portPart {
            guard let port = Int(portPart), (1...65535).contains(port) else {
                throw .io("\(url) has port '\(portPart)', expected 1-65535")
            }
            self.port = port
        } else {
            port = 80
        }
    }

    /// The `Host` header's value.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }
}
