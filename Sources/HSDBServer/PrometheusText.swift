/// Prometheus text-format families written fresh at each scrape (the replication and backup
/// families of `/metrics`): a family with no line is left out.
struct PrometheusText {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String, _ lines: [(labels: String, value: String)]) {
        guard !lines.isEmpty else { return }
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for l in lines { text += l.labels.isEmpty ? "\(name) \(l.value)\n" : "\(name){\(l.labels)} \(l.value)\n" }
    }

    /// `a="x",b="y"`, values escaped.
    static func labels(_ pairs: (String, String)...) -> String {
        pairs.map { "\($0.0)=\"\(ServerMetrics.labelEscaped($0.1))\"" }.joined(separator: ",")
    }
}
