import HSDB
import HSDBCore

extension StrictMode {
    /// Keeps a payload index's parameters (the object form of its `field_schema`, nil when
    /// dropped) in the collection's attributes, for `schema`; rewrites them only on a change.
    static func keepIndexParams(_ fieldSchema: JSONValue?, of field: String, in c: Collection) async throws {
        var params: Payload = [:]
        if case .object(let o)? = fieldSchema { params = o.filter { $0.key != "type" } }
        var all: Payload = [:]
        if case .object(let o)? = c.config.attributes[indexParamsKey] { all = o }
        let kept: JSONValue? = params.isEmpty ? nil : .object(params)
        guard all[field] != kept else { return }
        all[field] = kept
        let updated = all
        try await c.updateAttributes { $0[indexParamsKey] = updated.isEmpty ? nil : .object(updated) }
    }
}
