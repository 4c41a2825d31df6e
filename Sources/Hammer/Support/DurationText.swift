import Foundation

/// Durations as people write them in configuration and on the command line: a number and a unit (`500ms`, `45s`,
/// `10m`, `12h`, `30d`, `2w`; decimals allowed), or a bare number of seconds. The one parser for both.
public enum DurationText {
    static let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]

    /// The duration `text` names, or nil when it is not one (negative and non-finite values included, and any of
    /// 9e9 seconds, about 285 years, or more: its nanoseconds must fit in 64 bits).
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var seconds = Double(trimmed)
        if seconds == nil {
            for unit in units where trimmed.hasSuffix(unit.suffix) {
                if let number = Double(trimmed.dropLast(unit.suffix.count)) {
                    seconds = number * unit.seconds
                    break
                }
            }
        }
        guard let seconds, seconds.isFinite, seconds >= 0, seconds < 9e9 else { return nil }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// `duration` in its largest whole unit (`30d`, `90s`, `1500ms`): text `parse` reads back to the same duration.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        for (suffix, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60000), ("s", 1000)] where milliseconds % Int64(size) == 0 {
            return "\(milliseconds / Int64(size))\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
