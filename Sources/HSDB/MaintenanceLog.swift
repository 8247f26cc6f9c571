import Foundation
import Synchronization

/// One flush (a frozen memtable written as a segment) or merge (segments compacted into one)
/// of a collection: what `GET /collections/{c}/optimizations` reports.
public struct MaintenanceTask: Sendable {
    public enum Kind: String, Sendable {
        case flush, merge
    }

    public enum Status: Sendable, Equatable {
        case running, done
        case failed(String)
    }

    /// What the task reads: a segment (its content id) or, for a flush, the memtable (nil).
    public struct Input: Sendable {
        public let contentID: String?
        /// Points live in it when the task began.
        public let points: Int
    }

    public let id: UUID
    public let kind: Kind
    public let inputs: [Input]
    public let startedAt: Date
    public internal(set) var finishedAt: Date?
    public internal(set) var status: Status = .running
    /// The segment it made (nil while running, after a failure, or when nothing was live).
    public internal(set) var output: String?
}

/// The running tasks and the last `keep` finished ones, newest first.
final class MaintenanceLog: Sendable {
    static let keep = 32
    private struct State {
        var running: [UUID: MaintenanceTask] = [:]
        var finished: [MaintenanceTask] = []
    }
    private let state = Mutex(State())

    func begin(_ kind: MaintenanceTask.Kind, inputs: [MaintenanceTask.Input]) -> UUID {
        let task = MaintenanceTask(id: UUID(), kind: kind, inputs: inputs, startedAt: Date())
        state.withLock { $0.running[task.id] = task }
        return task.id
    }

    func end(_ id: UUID, _ status: MaintenanceTask.Status, output: String? = nil) {
        state.withLock { s in
            guard var task = s.running.removeValue(forKey: id) else { return }
            task.status = status
            task.finishedAt = Date()
            task.output = output
            s.finished.insert(task, at: 0)
            if s.finished.count > Self.keep { s.finished.removeLast() }
        }
    }

    /// Running tasks (oldest first) and finished ones (newest first).
    var snapshot: (running: [MaintenanceTask], finished: [MaintenanceTask]) {
        state.withLock { s in (s.running.values.sorted { $0.startedAt < $1.startedAt }, s.finished) }
    }
}

extension Collection {
    /// Flushes and merges running now (oldest first), and the last 32 finished (newest first).
    public var maintenanceTasks: (running: [MaintenanceTask], finished: [MaintenanceTask]) { maintenanceLog.snapshot }

    /// Runs `work` as a task of `kind` in the log, ending it done (with the segment made) or failed.
    func tracked(
        _ kind: MaintenanceTask.Kind, inputs: [MaintenanceTask.Input], _ work: () async throws -> String?
    ) async throws {
        let id = maintenanceLog.begin(kind, inputs: inputs)
        do {
            maintenanceLog.end(id, .done, output: try await work())
        } catch {
            maintenanceLog.end(id, .failed("\(error)"))
            throw error
        }
    }
}

extension Collection {
    /// Each segment's content id and live points now, newest segment first.
    public func segmentLiveCounts() -> [(contentID: String, points: Int)] {
        let s = state.withLock { $0.snapshot() }
        return s.segments.map { ($0.segment.contentID, $0.liveCount(at: s.lsn)) }
    }
}
