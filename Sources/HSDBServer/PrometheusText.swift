/// Prometheus text-format families written fresh at each scrape (the replication and backup
/// families of `/metrics`): a family with no line is left out.
struct PrometheusText {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String, _ lines: [(labels: String, value: String)]) {
        guard !lines.isEmpty else { return }
        header(name, type, help)
        for l in lines { sample(name, labels: l.labels, l.value) }
    }

    /// A family's `# HELP` and `# TYPE` lines, before its samples.
    mutating func header(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// One sample line; `labels` as `labels(_:)` writes them, or empty.
    mutating func sample(_ name: String, labels: String, _ value: String) {
        text += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n"
    }

    /// `a="x",b="y"`, values escaped.
    static func labels(_ pairs: (String, String)...) -> String {
        pairs.map { "\($0.0)=\"\(ServerMetrics.labelEscaped($0.1))\"" }.joined(separator: ",")
    }
}
