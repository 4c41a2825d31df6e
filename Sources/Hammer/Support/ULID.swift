import Foundation

/// Universally unique lexicographically sortable identifiers (26 Crockford base32 characters).
public enum ULID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID for `date`: 48 bits of milliseconds then 80 random bits.
    public static func make(date: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let high = UInt16.random(in: .min ... .max, using: &generator)
        let low = UInt64.random(in: .min ... .max, using: &generator)
        var characters = [UInt8](repeating: 0, count: 26)
        for index in 0..<10 {
            characters[9 - index] = alphabet[Int((milliseconds >> (5 * UInt64(index))) & 31)]
        }
        // 80 random bits: the top 16 from `high`, the low 64 from `low`.
        for index in 0..<16 {
            let shift = 5 * index
            let value: UInt64
            if shift + 5 <= 64 {
                value = (low >> UInt64(shift)) & 31
            } else if shift < 64 {
                value = ((low >> UInt64(shift)) | (UInt64(high) << UInt64(64 - shift))) & 31
            } else {
                value = (UInt64(high) >> UInt64(shift - 64)) & 31
            }
            characters[25 - index] = alphabet[Int(value)]
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// Whether `text` has a ULID's shape: 26 characters of the alphabet (delivery ids are ULID-shaped too).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 26 && text.utf8.allSatisfy { alphabet.contains($0) }
    }
}
