/// Datetimes in payloads, as Qdrant reads them: `YYYY-MM-DD`, then optionally `T` or a space
/// and `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction`, then optionally `Z`, `±HH:MM` or `±HHMM`
/// (no zone means UTC). Compared as seconds since the Unix epoch.
public enum PayloadDateTime {
    /// Seconds since 1970-01-01T00:00:00Z, or nil when `text` is not a datetime.
    public static func seconds(_ text: String) -> Double? {
        var s = Scanner(Array(text.utf8))
        guard let year = s.digits(4), s.take(UInt8(ascii: "-")), let month = s.digits(2), s.take(UInt8(ascii: "-")),
            let day = s.digits(2), (1...12).contains(month), (1...daysIn(month, of: year)).contains(day)
        else { return nil }
        var seconds = Double(daysFromCivil(year, month, day)) * 86_400
        if s.atEnd { return seconds }
        guard s.take(UInt8(ascii: "T")) || s.take(UInt8(ascii: " ")), let hour = s.digits(2), s.take(UInt8(ascii: ":")),
            let minute = s.digits(2), hour < 24, minute < 60
        else { return nil }
        seconds += Double(hour * 3600 + minute * 60)
        if s.take(UInt8(ascii: ":")) {
            guard let second = s.digits(2), second < 60 else { return nil }
            seconds += Double(second)
            if s.take(UInt8(ascii: ".")) {
                guard let fraction = s.fraction() else { return nil }
                seconds += fraction
            }
        }
        if s.atEnd { return seconds }
        if s.take(UInt8(ascii: "Z")) || s.take(UInt8(ascii: "z")) { return s.atEnd ? seconds : nil }
        let sign: Double
        if s.take(UInt8(ascii: "+")) { sign = 1 } else if s.take(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let zoneHours = s.digits(2) else { return nil }
        _ = s.take(UInt8(ascii: ":"))
        guard let zoneMinutes = s.digits(2), zoneHours < 24, zoneMinutes < 60, s.atEnd else { return nil }
        return seconds - sign * Double(zoneHours * 3600 + zoneMinutes * 60)
    }

    static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the date in the proleptic Gregorian calendar (Howard Hinnant's
    /// days_from_civil).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private struct Scanner {
        let bytes: [UInt8]
        var at = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { at == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        mutating func digits(_ n: Int) -> Int? {
            guard at + n <= bytes.count else { return nil }
            var value = 0
            for b in bytes[at..<at + n] {
                guard (48...57).contains(b) else { return nil }
                value = value * 10 + Int(b - 48)
            }
            at += n
            return value
        }

        /// One or more digits after the decimal point, as a fraction of a second.
        mutating func fraction() -> Double? {
            var value = 0.0, scale = 1.0
            let start = at
            while at < bytes.count, (48...57).contains(bytes[at]) {
                if at - start < 9 {
                    scale /= 10
                    value += Double(bytes[at] - 48) * scale
                }
                at += 1
            }
            return at > start ? value : nil
        }
    }
}
