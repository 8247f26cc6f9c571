import ArgumentParser
import Foundation
import Replication

/// `hsdb replica`: tools for a leader and its followers.
struct Replica: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replication tools: prove a follower equal to its leader; promote a follower; hand a cluster's lead over.",
        subcommands: [ReplicaVerify.self, ReplicaPromote.self, ReplicaSwitchover.self])
}

/// `hsdb replica verify`: exit 0 when every collection of the leader has the same state
/// digest on the follower at the same LSN; 1 naming the collections, buckets and point ids
/// that differ; 2 when a server cannot be asked.
struct ReplicaVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare every collection of a leader with a follower (or with every member of a cluster) by their state digests at the same LSN.")

    @Option(name: .long, help: "The leader's base URL, such as http://127.0.0.1:6333.")
    var leader: String?

    @Option(name: .long, help: "The follower's base URL.")
    var follower: String?

    @Option(name: .long, help: "Instead of --leader and --follower: any member of a cluster (serve --etcd); its leader is compared with every other member.")
    var cluster: String?

    @Option(name: .long, help: "API key of the leader (default: $HSDB_API_KEY); also used for the follower unless --follower-api-key is given.")
    var apiKey: String?

    @Option(name: .long, help: "API key of the follower.")
    var followerApiKey: String?

    @Option(name: .long, help: "Seconds to wait for the follower to reach the leader's LSN.")
    var timeout = 60

    @Flag(name: .long, help: "Compare content digests (every vector and payload read on both sides) instead of the kept (id, version) digests.")
    var content = false

    @Flag(name: .long, help: "Print one JSON object per pair compared, listing every differing point id.")
    var json = false

    func validate() throws {
        guard (cluster == nil) == (leader != nil && follower != nil), cluster == nil || (leader == nil && follower == nil) else {
            throw ValidationError("give --leader and --follower, or --cluster alone")
        }
    }

    func run() async throws {
        let key = apiKey ?? ProcessInfo.processInfo.environment["HSDB_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let pairs: [(leader: String, follower: String)]
        do {
            if let cluster {
                pairs = try await Self.clusterPairs(cluster, apiKey: key)
            } else {
                pairs = [(leader!, follower!)]
            }
        } catch {
            FileHandle.standardError.write(Data("hsdb replica verify: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var differ = false
        for (leaderURL, followerURL) in pairs {
            if (pairs.count > 1 || cluster != nil) && !json { print("\(followerURL) against the leader \(leaderURL):") }
            differ = try await verify(leaderURL, followerURL, key) || differ
        }
        if differ { throw ExitCode(1) }
    }

    /// Compares one pair and prints what it found; true when they differ.
    private func verify(_ leaderURL: String, _ followerURL: String, _ key: String?) async throws -> Bool {
        let report: ReplicaVerifier.Report
        do {
            let verifier = try ReplicaVerifier(
                leaderURL: leaderURL, followerURL: followerURL, apiKey: key, followerAPIKey: followerApiKey,
                timeout: .seconds(max(1, timeout)), content: content)
            report = try await verifier.run()
        } catch {
            FileHandle.standardError.write(Data("hsdb replica verify: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if json {
            var o = report.json()
            if case .object(var fields) = o {
                (fields["leader"], fields["follower"]) = (.string(leaderURL), .string(followerURL))
                o = .object(fields)
            }
            print(o.description)
            return !report.differences.isEmpty
        }
        for e in report.equal {
            print("equal  \(e.collection): LSN \(e.lsn), \(e.points) points, root \(e.root)")
        }
        for d in report.differences {
            print("DIFFER \(d)")
        }
        if report.differences.isEmpty { print("the follower is equal to the leader (\(report.equal.count) collection(s))") }
        return !report.differences.isEmpty
    }

    /// The leader a cluster member names, and every other member.
    static func clusterPairs(_ member: String, apiKey: String?) async throws -> [(leader: String, follower: String)] {
        let view = try await ClusterView.read(member, apiKey: apiKey)
        return view.members.filter { $0 != view.leader }.sorted().map { (view.leader, $0) }
    }
}

/// `hsdb replica promote`: makes a server (a follower, usually) the leader of a new epoch;
/// its former leader is told and takes no more writes.
struct ReplicaPromote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Make a follower the leader of a new epoch (its former leader is fenced when it can be reached).")

    @Option(name: .long, help: "The server's base URL, such as http://127.0.0.1:6335.")
    var server: String

    @Option(name: .long, help: "Its API key (default: $HSDB_API_KEY).")
    var apiKey: String?

    func run() async throws {
        let key = apiKey ?? ProcessInfo.processInfo.environment["HSDB_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let epoch = try await ServerAdminClient(server: server, apiKey: key).promote()
            print("\(server) is the leader of epoch \(epoch)")
        } catch {
            FileHandle.standardError.write(Data("hsdb replica promote: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `hsdb replica switchover`: in a cluster (`serve --etcd`), hands the lead to another member
/// with no acknowledged write lost: the leader stops taking writes, waits until the target
/// holds all it has, and names it in etcd, which elects it in the next round.
struct ReplicaSwitchover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchover",
        abstract: "Hand a cluster's lead to another member (planned, no acknowledged write lost).")

    @Option(name: .long, help: "Any member's base URL; the call goes to the leader it names.")
    var server: String

    @Option(name: .long, help: "The member to hand over to (default: the most advanced other member).")
    var to: String?

    @Option(name: .long, help: "API key (default: $HSDB_API_KEY).")
    var apiKey: String?

    func run() async throws {
        let key = apiKey ?? ProcessInfo.processInfo.environment["HSDB_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let url = try await ClusterView.read(server, apiKey: key).leader
            var path = "/cluster/switchover"
            if let to { path += "?to=" + (to.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? to) }
            let result = try await ServerAdminClient(server: url, apiKey: key).post(path)
            guard case .object(let o) = result, case .string(let name)? = o["leader"], case .int(let epoch)? = o["epoch"] else {
                throw ValidationError("the switchover answer names no leader")
            }
            print("\(name) leads epoch \(epoch)")
        } catch {
            FileHandle.standardError.write(Data("hsdb replica switchover: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// What a cluster member says of its cluster (`GET /cluster`, hsdb's part): the leader's URL
/// and every member's.
struct ClusterView {
    let leader: String
    let members: [String]

    static func read(_ member: String, apiKey: String?) async throws -> ClusterView {
        let status = try await ServerAdminClient(server: member, apiKey: apiKey).get("/cluster")
        guard case .object(let top) = status, case .object(let mine)? = top["hsdb"],
            case .object(let leader)? = mine["leader"], case .string(let url)? = leader["advertise"],
            case .array(let members)? = mine["members"]
        else {
            throw ValidationError("\(member) knows no cluster leader now (not in a cluster, or an election is under way)")
        }
        let urls = members.compactMap { m -> String? in
            guard case .object(let o) = m, case .string(let url)? = o["advertise"] else { return nil }
            return url
        }
        return ClusterView(leader: url, members: urls)
    }
}
