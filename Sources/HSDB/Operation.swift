/// A write, as logged in one WAL record and applied to the memtable as one unit.
enum Operation: Sendable {
    /// Points with their vectors already normalised (cosine). Later duplicates of an id win.
    case upsert([Point])
    case delete([PointID])
}
