import Foundation

/// An attempt's request or response dump, split for reading: the start line, the headers, and the body,
/// pretty-printed when it is JSON.
struct HTTPDump {
    var startLine: String
    var headers: [(name: String, value: String)]
    var body: String
    var bodyIsJSON: Bool

    init(_ dump: String) {
        let separator = dump.range(of: "\r\n\r\n")
        let head = separator.map { String(dump[..<$0.lowerBound]) } ?? dump
        let rawBody = separator.map { String(dump[$0.upperBound...]) } ?? ""
        var lines = head.components(separatedBy: "\r\n")
        startLine = lines.isEmpty ? "" : lines.removeFirst()
        headers = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        if let pretty = Self.prettyJSON(rawBody) {
            (body, bodyIsJSON) = (pretty, true)
        } else {
            (body, bodyIsJSON) = (rawBody, false)
        }
    }

    /// `text` indented, when it is a JSON object or array.
    static func prettyJSON(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("{") || trimmed.hasPrefix("["),
            let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)),
            let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: pretty, as: UTF8.self)
    }

    /// The template's view of it.
    var context: [String: Any] {
        [
            "startLine": startLine,
            "present": !startLine.isEmpty,
            "headers": headers.map { ["name": $0.name, "value": $0.value] },
            "body": body,
            "hasBody": !body.isEmpty,
            "bodyIsJSON": bodyIsJSON,
        ]
    }
}
