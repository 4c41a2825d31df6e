import Foundation

/// The overview's chart: attempts per minute over the last hour as stacked SVG bars, succeeded below failed.
enum DeliveryChart {
    static let width = 720
    static let height = 160

    /// Inline SVG for `minutes` (any order, gaps allowed), ending with the minute of `now`.
    static func svg(_ minutes: [DeliveryOverview.Minute], now: Date = Date()) -> String {
        let current = floor(now.timeIntervalSince1970 / 60)
        var buckets = [(succeeded: Int, failed: Int)](repeating: (0, 0), count: 60)
        for minute in minutes {
            let index = 59 - Int(current - floor(minute.start.timeIntervalSince1970 / 60))
            guard buckets.indices.contains(index) else { continue }
            buckets[index].succeeded += minute.succeeded
            buckets[index].failed += minute.failed
        }
        let peak = max(1, buckets.map { $0.succeeded + $0.failed }.max() ?? 1)
        let plot = Double(height - 20)
        let barWidth = Double(width) / 60
        var svg = """
            <svg class="chart" viewBox="0 0 \(width) \(height)" role="img" aria-label="Attempts per minute, last hour: \
            \(buckets.map(\.succeeded).reduce(0, +)) succeeded, \(buckets.map(\.failed).reduce(0, +)) failed">
            """
        for (index, bucket) in buckets.enumerated() {
            let x = Double(index) * barWidth + 1
            let okHeight = plot * Double(bucket.succeeded) / Double(peak)
            let failedHeight = plot * Double(bucket.failed) / Double(peak)
            let minutesAgo = 59 - index
            let label = "\(minutesAgo) min ago: \(bucket.succeeded) succeeded, \(bucket.failed) failed"
            if bucket.succeeded > 0 {
                svg += bar(x: x, y: plot - okHeight, width: barWidth - 2, height: okHeight, kind: "ok", title: label)
            }
            if bucket.failed > 0 {
                svg += bar(x: x, y: plot - okHeight - failedHeight, width: barWidth - 2, height: failedHeight, kind: "failed", title: label)
            }
        }
        svg += """
            <line x1="0" y1="\(plot)" x2="\(width)" y2="\(plot)" class="axis"/>\
            <text x="0" y="\(height - 4)">60 min ago</text>\
            <text x="\(width)" y="\(height - 4)" text-anchor="end">now</text>\
            <text x="4" y="12">\(peak)/min</text></svg>
            """
        return svg
    }

    private static func bar(x: Double, y: Double, width: Double, height: Double, kind: String, title: String) -> String {
        let format = { (value: Double) in String(format: "%.1f", value) }
        return "<rect class=\"\(kind)\" x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(width))\" height=\"\(format(height))\">"
            + "<title>\(title)</title></rect>"
    }
}
