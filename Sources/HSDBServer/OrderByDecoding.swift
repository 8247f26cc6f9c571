import HSDB
import HSDBCore

/// `order_by` of a scroll: `"key"` or `{"key", "direction": "asc" | "desc", "start_from":
/// number or datetime}`. The key needs a range index (integer, float or datetime), as in Qdrant.
enum OrderByDecoding {
    /// `indexes` nil: the range index is checked later (`checkIndex`), where they are known.
    static func order(_ value: JSONValue, path: String, indexes: [String: PayloadIndexType]?) throws -> PayloadOrder {
        var order: PayloadOrder
        switch value {
        case .string(let key): order = PayloadOrder(key: key)
        case .object:
            let fields = try JSONFields(value, path: path)
            for key in fields.values.keys.sorted() where !["key", "direction", "start_from"].contains(key) {
                throw APIError.format("\(fields.fieldPath(key)): unknown field, expected `key`, `direction`, `start_from`")
            }
            guard let key = try fields.string("key") else { throw APIError.format("\(path): missing field `key`") }
            order = PayloadOrder(key: key)
            switch try fields.string("direction") {
            case nil, "asc": break
            case "desc": order.descending = true
            case let other?: throw APIError.format("\(path).direction: unknown variant `\(other)`, expected `asc` or `desc`")
            }
            switch fields["start_from"] {
            case nil, .null?: break
            case .int(let n)?: order.startFrom = Double(n)
            case .double(let d)?: order.startFrom = d
            case .string(let text)?:
                guard let t = PayloadDateTime.seconds(text) else { throw APIError.format("\(path).start_from: '\(text)' is not a datetime") }
                order.startFrom = t
            case let other?: throw JSONFields.typeError("\(path).start_from", "a number or a datetime string", other)
            }
        default:
            throw JSONFields.typeError(path, "a field name or an object", value)
        }
        if let indexes { try checkIndex(order, indexes) }
        return order
    }

    /// Qdrant's answer for an `order_by` key without a range index.
    static func checkIndex(_ order: PayloadOrder, _ indexes: [String: PayloadIndexType]) throws {
        guard let type = indexes[order.key], [.integer, .float, .datetime].contains(type) else {
            throw APIError(status: .badRequest, message: "Bad request: No range index for `order_by` key `\(order.key)`. Please create one "
                + "to use `order_by`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload "
                + "schemas support Range conditions")
        }
    }
}
