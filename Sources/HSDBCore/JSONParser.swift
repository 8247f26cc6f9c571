#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where and why JSON text failed to parse. Line and column count from 1, as editors do.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public let line: Int
    public let column: Int
    public let reason: String

    public var description: String { "\(reason) at line \(line) column \(column)" }
}

/// Parses JSON text (RFC 8259) into a `JSONValue`, straight from bytes. Request bodies of the
/// HTTP API go through here: a 384-dimension vector is 384 numbers, so numbers take the
/// fast path of Clinger's algorithm (exact when the digits fit 2^53 and the power of ten is at
/// most 10^22) and fall back to `strtod` otherwise; either way the result is the correctly
/// rounded double. Integers that fit Int64 stay integers. Nesting is bounded, strings must
/// be valid UTF-8, and duplicate keys keep the last value (as serde_json does).
public struct JSONParser {
    public static let defaultMaxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private let maxDepth: Int

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("trailing characters after the JSON value") }
        return value
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { try parse($0, maxDepth: maxDepth) }
        } catch let e as JSONParseError {
            throw e
        } catch {
            fatalError("unreachable: parse throws only JSONParseError")
        }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    // MARK: Values

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("expected a value")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw error("JSON nests deeper than \(maxDepth) levels") }
        index += 1
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; return .object(object) }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("expected ':' after an object key") }
            index += 1
            skipWhitespace()
            object[key] = try parseValue(depth: depth)
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; return .object(object) }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw error("JSON nests deeper than \(maxDepth) levels") }
        index += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; return .array(array) }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; return .array(array) }
            throw error("expected ',' or ']' in an array")
        }
    }

    // MARK: Strings

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw error("string is not valid UTF-8", at: start)
                }
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in a string") }
            index += 1
        }
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                guard let s = String(validating: utf8, as: UTF8.self) else { throw error("string is not valid UTF-8", at: start) }
                return s
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): try appendUnicodeEscape(to: &utf8)
                default: throw error("invalid escape sequence in a string", at: index - 2)
                }
            default:
                if b < 0x20 { throw error("control character in a string") }
                utf8.append(b)
                index += 1
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    private mutating func appendUnicodeEscape(to utf8: inout [UInt8]) throws(JSONParseError) {
        var scalar = try readHex4()
        if (0xD800...0xDBFF).contains(scalar) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw error("unpaired UTF-16 surrogate in a string")
            }
            index += 2
            let low = try readHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired UTF-16 surrogate in a string") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw error("unpaired UTF-16 surrogate in a string")
        }
        utf8.append(contentsOf: String(Unicode.Scalar(scalar)!).utf8)
    }

    private mutating func readHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    // MARK: Numbers

    /// 10^k for k in 0...22, all exact in a double. A literal switch rather than a static
    /// array: no lazy-initialisation check or bounds check in the number loop.
    @inline(__always)
    static func exactPowerOfTen(_ k: Int) -> Double {
        switch k {
        case 0: return 1e0
        case 1: return 1e1
        case 2: return 1e2
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        case 7: return 1e7
        case 8: return 1e8
        case 9: return 1e9
        case 10: return 1e10
        case 11: return 1e11
        case 12: return 1e12
        case 13: return 1e13
        case 14: return 1e14
        case 15: return 1e15
        case 16: return 1e16
        case 17: return 1e17
        case 18: return 1e18
        case 19: return 1e19
        case 20: return 1e20
        case 21: return 1e21
        default: return 1e22
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits accumulated in `mantissa`
        var droppedDigits = 0  // integer digits beyond what `mantissa` holds
        var exponent = 0
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit", at: index) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("leading zeros are not allowed in numbers", at: start) }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0"))  // at most 19 digits: no overflow
                    if mantissa != 0 { digits += 1 }
                } else {
                    droppedDigits += 1
                }
                index += 1
            }
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit after the decimal point") }
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- UInt8(ascii: "0"))  // at most 19 digits: no overflow
                    if mantissa != 0 { digits += 1 }
                    exponent -= 1
                } else {
                    droppedDigits += 1  // counted only to force the slow path
                }
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            var expNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                expNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit in the exponent") }
            var e = 0
            while index < bytes.count, isDigit(bytes[index]) {
                if e < 100_000 { e = e * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                index += 1
            }
            exponent += expNegative ? -e : e
        }
        if isInteger && droppedDigits == 0 {
            if !negative, mantissa <= UInt64(Int64.max) { return .int(Int64(mantissa)) }
            if negative, mantissa <= UInt64(Int64.max) + 1 { return .int(mantissa == UInt64(Int64.max) + 1 ? .min : -Int64(mantissa)) }
        }
        // Clinger's fast path: both operands exact, so one rounding gives the right double.
        if droppedDigits == 0, mantissa <= (1 << 53), (-22...22).contains(exponent) {
            var d = Double(mantissa)
            d = exponent < 0 ? d / Self.exactPowerOfTen(-exponent) : d * Self.exactPowerOfTen(exponent)
            return .double(negative ? -d : d)
        }
        // Up to 19 digits with a negative power of ten (every float that Python or JavaScript
        // prints with 17 digits): one division, then an exact 128-bit check that the result is
        // the correctly rounded one; strtod only when it is not.
        if droppedDigits == 0, mantissa != 0, (-22 ... -1).contains(exponent), let d = Self.checkedQuotient(mantissa, -exponent) {
            return .double(negative ? -d : d)
        }
        let d = slowDouble(start..<index)
        guard d.isFinite else { throw error("number is out of range for a 64-bit float", at: start) }
        return .double(d)
    }

    /// m / 10^k as the correctly rounded double, or nil if that cannot be confirmed cheaply.
    /// q = Double(m) / 10^k is within an ulp or so; writing q = M * 2^E, q is the correctly
    /// rounded value exactly when m / 10^k lies strictly between the midpoints
    /// (2M - 1) * 2^(E-1) and (2M + 1) * 2^(E-1), which multiplied by 10^k * 2^(1-E) is a
    /// comparison of integers below 2^128.
    @inline(__always)
    static func checkedQuotient(_ m: UInt64, _ k: Int) -> Double? {
        let q = Double(m) / exactPowerOfTen(k)
        // A power of two has a closer lower neighbour; leave that rare case to strtod.
        guard q.isNormal, q.significandBitPattern != 0 else { return nil }
        let significand = UInt128(q.significandBitPattern | (1 << 52))
        let e = Int(q.exponent) - 52  // q = significand * 2^e
        let shift = 1 - e
        guard shift >= 0, shift + (64 - m.leadingZeroBitCount) <= 127 else { return nil }
        let scaled = UInt128(m) << shift
        // 10^k < 2^74 and 2 * significand + 1 < 2^54: the products stay below 2^128.
        let p = UInt128(UInt64(exactPowerOfTen(min(k, 19)))) &* (k > 19 ? UInt128(UInt64(exactPowerOfTen(k - 19))) : 1)
        guard (2 &* significand &- 1) &* p < scaled, scaled < (2 &* significand &+ 1) &* p else { return nil }
        return q
    }

    private func slowDouble(_ range: Range<Int>) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: range.count + 1) { buffer in
            for (i, b) in bytes[range].enumerated() { buffer[i] = CChar(bitPattern: b) }
            buffer[range.count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    // MARK: Helpers

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always) private func peek(_ b: UInt8) -> Bool { index < bytes.count && bytes[index] == b }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let n = literal.utf8CodeUnitCount
        guard index + n <= bytes.count,
            memcmp(bytes.baseAddress! + index, literal.utf8Start, n) == 0
        else { throw error("invalid literal") }
        index += n
    }

    private func error(_ reason: String, at offset: Int? = nil) -> JSONParseError {
        let offset = min(offset ?? index, bytes.count)
        var line = 1
        var column = 1
        for b in bytes[..<offset] {
            if b == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return JSONParseError(offset: offset, line: line, column: column, reason: reason)
    }
}
