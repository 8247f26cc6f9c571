import HSDB
import HSDBCore
import Hummingbird

extension API {
    func registerService(on router: Router<Context>) {
        // The client reads `version` at start and warns unless it is within one minor
        // release of its own; no envelope, as Qdrant's.
        on(router, .get, "/") { _, _, _ in
            var w = JSONTextWriter()
            w.beginObject()
            w.key("title"); w.string("hsdb \(HSDBVersion.string) (Qdrant-compatible REST API)")
            w.key("version"); w.string(settings.compatibleVersion)
            w.key("commit"); w.string(HSDBVersion.commit)
            w.endObject()
            return Envelope.json(w.bytes)
        }
        on(router, .get, "/healthz") { _, _, _ in Envelope.text("healthz check passed") }
        on(router, .get, "/livez") { _, _, _ in Envelope.text("healthz check passed") }
        on(router, .get, "/readyz") { _, _, _ in
            // Archiving that fails is said here too: the WAL piles up until it is fixed.
            if let status = archiver?.status, status.consecutiveFailures > 0 {
                var r = Envelope.text("backup archiving is failing (\(status.consecutiveFailures) attempts in a row): \(status.lastError ?? "")")
                r.status = .serviceUnavailable
                return r
            }
            return Envelope.text("all shards are ready")
        }
        on(router, .get, "/metrics") { request, _, _ in
            let perCollection = request.uri.queryParameters.get("per_collection") == "true"
            let text = try metrics.exposition(db, version: settings.compatibleVersion, perCollection: perCollection) + Array((await replicationMetrics() + backupMetrics()).utf8)
            return Envelope.text(String(decoding: text, as: UTF8.self), contentType: "text/plain; version=0.0.4")
        }
    }
}
