import HSDB
import HSDBCore

/// The REST request decoders on arbitrary bytes, for the `rest-request` fuzz target: the JSON
/// parser, then every body decoder of the API on whatever parsed. Properties: nothing
/// crashes, hangs or allocates beyond the input's size; decoders only accept or throw; and
/// parsed JSON written back by `JSONTextWriter` parses to the same value.
public enum RequestDecoderFuzzing {
    public static func run(_ data: UnsafeRawBufferPointer) {
        guard let value = try? JSONParser.parse(data) else { return }
        var w = JSONTextWriter()
        w.value(value)
        guard let again = try? JSONParser.parse(w.bytes) else { fatalError("rest-request: written JSON does not parse") }
        precondition(again == value, "rest-request: JSON text round trip changed the value")
        guard let fields = try? JSONFields(value, path: "") else { return }
        for naming in [VectorNaming.unnamed, VectorNaming(name: "d", sparseNames: ["s"])] {
            _ = try? PointDecoding.upsert(fields, naming: naming, limit: 1000)
            _ = try? QueryRequest.query(fields, naming: naming, maxResults: 1000, available: { 500 })
            _ = try? QueryRequest.search(fields, naming: naming, maxResults: 1000, available: { 500 })
            _ = try? WriteOperation.updateVectors(fields, naming: naming, limit: 1000)
            _ = try? WriteOperation.deleteVectors(fields, naming: naming, limit: 1000)
        }
        _ = try? PointSelector(fields, limit: 1000)
        _ = try? CollectionSpec.config(from: fields)
        if let filter = fields["filter"] { _ = try? FilterDecoding.filter(filter, path: "filter") }
        _ = try? PayloadSelector(fields.values["with_payload"], path: "with_payload", default: true)
        _ = try? VectorNaming.unnamed.selection(fields.values["with_vector"], path: "with_vector")
        if case .string(let s) = fields["name"] { _ = try? API.pathName(s, kind: "collection") }
    }
}
