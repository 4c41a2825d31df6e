import Foundation

/// RFC 3339 timestamps as hammer writes them: UTC with microseconds, `2020-05-15T12:46:25.789143Z`.
public enum Timestamp {
    /// Formats `date` in UTC with six fractional digits.
    public static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = time_t(micros.floorDiv(1_000_000))
        let fraction = micros - Int64(seconds) * 1_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Hand-formatted: String(format:) goes through CoreFoundation and shows in delivery profiles.
        var bytes = [UInt8](repeating: 0, count: 27)
        func put(_ value: Int, at offset: Int, width: Int) {
            var value = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[index] = UInt8(48 + value % 10)
                value /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, at: 0, width: 4)
        put(Int(parts.tm_mon) + 1, at: 5, width: 2)
        put(Int(parts.tm_mday), at: 8, width: 2)
        put(Int(parts.tm_hour), at: 11, width: 2)
        put(Int(parts.tm_min), at: 14, width: 2)
        put(Int(parts.tm_sec), at: 17, width: 2)
        put(Int(fraction), at: 20, width: 6)
        (bytes[4], bytes[7], bytes[10], bytes[13], bytes[16], bytes[19], bytes[26]) = (45, 45, 84, 58, 58, 46, 90)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Parses a strict RFC 3339 date-time (`T` or space separator, `Z` or `±hh:mm` offset).
    /// A space before the offset is read as `+`, since query strings decode `+` to a space.
    /// Returns the instant as a `Date` and in microseconds since 1970 (exact, unlike `Date`'s `Double` far from 2001),
    /// and the input with a space offset read as `+`.
    public static func parse(_ input: String) -> (date: Date, micros: Int64, normalized: String)? {
        var text = Array(input.utf8)
        guard text.count >= 20, text.count <= 40 else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= text.count else { return nil }
            var value = 0
            for index in range {
                guard (48...57).contains(text[index]) else { return nil }
                value = value * 10 + Int(text[index] - 48)
            }
            return value
        }
        guard let year = digits(0..<4), text[4] == 45, let month = digits(5..<7), text[7] == 45, let day = digits(8..<10),
            text[10] == 84 || text[10] == 116 || text[10] == 32,
            let hour = digits(11..<13), text[13] == 58, let minute = digits(14..<16), text[16] == 58, let second = digits(17..<19)
        else { return nil }
        var index = 19
        var fractionMicros = 0
        if text[index] == 46 {
            index += 1
            let start = index
            while index < text.count, (48...57).contains(text[index]) { index += 1 }
            guard index > start, index - start <= 9 else { return nil }
            let fraction = Double("0." + String(decoding: text[start..<index], as: UTF8.self)) ?? 0
            fractionMicros = Int((fraction * 1_000_000).rounded())
        }
        guard index < text.count else { return nil }
        var offsetSeconds = 0
        switch text[index] {
        case 90, 122:  // Z z
            guard index + 1 == text.count else { return nil }
        case 43, 45, 32:  // + - space
            if text[index] == 32 { text[index] = 43 }
            guard index + 6 == text.count, let offsetHour = digits((index + 1)..<(index + 3)), text[index + 3] == 58,
                let offsetMinute = digits((index + 4)..<(index + 6)), offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (text[index] == 45 ? -1 : 1)
        default:
            return nil
        }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61, year >= 1 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        // Proleptic Gregorian, as PostgreSQL and `format` (gmtime) count: Foundation's calendar switches to
        // Julian before 1582, which shifted early years by days (year 1 became year 0, which PostgreSQL rejects).
        let seconds = Self.daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + min(second, 59)
        let micros = Int64(seconds - offsetSeconds) * 1_000_000 + Int64(fractionMicros)
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), micros, String(decoding: text, as: UTF8.self))
    }

    /// An instant (microseconds since 1970) as UTC text PostgreSQL reads exactly, for any year it can hold:
    /// years before 1 as `BC`, years past 9999 with more digits (a year-1 bound at `+01:00` is 1 BC in UTC).
    public static func postgresUTC(micros: Int64) -> String {
        let seconds = micros.floorDiv(1_000_000)
        let fraction = Int(micros - seconds * 1_000_000)
        let days = Int(seconds.floorDiv(86400))
        let secondOfDay = Int(seconds - Int64(days) * 86400)
        let (year, month, day) = civilFromDays(days)
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let date = "\(padded(year > 0 ? year : 1 - year, 4))-\(padded(month, 2))-\(padded(day, 2))"
        let time = "\(padded(secondOfDay / 3600, 2)):\(padded(secondOfDay / 60 % 60, 2)):\(padded(secondOfDay % 60, 2)).\(padded(fraction, 6))"
        return "\(date) \(time)+00" + (year > 0 ? "" : " BC")
    }

    /// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's civil_from_days); year 0 is 1 BC.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }
}
