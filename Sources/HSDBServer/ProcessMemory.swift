import Foundation

/// The process's memory as Linux reports it in `/proc/self/status`, for `/telemetry`'s
/// `memory` (Qdrant reads jemalloc's counters; hsdb uses the system allocator, so the
/// kernel's are the ones it has).
struct ProcessMemory: Equatable {
    /// `VmRSS`: resident pages, mapped files included.
    var residentBytes = 0
    /// `VmSize`: every virtual mapping.
    var virtualBytes = 0
    /// `VmData`: private data and heap, what the allocator has taken.
    var dataBytes = 0

    /// Now; zeros where the file cannot be read (not Linux).
    static func current() -> ProcessMemory {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return ProcessMemory() }
        return parse(text)
    }

    /// From the text of `/proc/<pid>/status` (lines such as `VmRSS:     1234 kB`).
    static func parse(_ status: String) -> ProcessMemory {
        var m = ProcessMemory()
        for line in status.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kib = Int(fields[1]) else { continue }
            switch fields[0] {
            case "VmRSS": m.residentBytes = kib * 1024
            case "VmSize": m.virtualBytes = kib * 1024
            case "VmData": m.dataBytes = kib * 1024
            default: continue
            }
        }
        return m
    }
}
