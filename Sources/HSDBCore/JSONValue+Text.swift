/// JSON text of a value (compact, keys sorted), e.g. for printing payloads.
extension JSONValue: CustomStringConvertible {
    public var description: String {
        var w = JSONTextWriter()
        w.value(self)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
