import Foundation

/// A `payload_template`: text with `{{ path }}` placeholders over the message, the delivery, the
/// subscription and the attempt number. Parsed once; rendering walks the parts.
public struct PayloadTemplate: Sendable {
    /// What a placeholder names.
    public enum Path: Sendable, Equatable {
        case messageID, topicID, eventType, contentType, createdAt
        /// `message.data`, or a path into its JSON (`message.data.items.0.name`: object keys and array indexes).
        case data([String])
        case deliveryID, subscriptionID, attempt
    }

    enum Part: Sendable {
        case text(String)
        case placeholder(Path)
    }

    /// What a placeholder is filled from.
    public struct Context: Sendable {
        public var messageID: String
        public var topicID: String
        public var eventType: String?
        public var contentType: String
        public var createdAt: Date
        /// The message's bytes as published.
        public var data: [UInt8]
        public var deliveryID: String
        public var subscriptionID: String
        /// 1-based.
        public var attempt: Int

        public init(
            messageID: String,
            topicID: String,
            eventType: String?,
            contentType: String,
            createdAt: Date,
            data: [UInt8],
            deliveryID: String,
            subscriptionID: String,
            attempt: Int
        ) {
            self.messageID = messageID
            self.topicID = topicID
            self.eventType = eventType
            self.contentType = contentType
            self.createdAt = createdAt
            self.data = data
            self.deliveryID = deliveryID
            self.subscriptionID = subscriptionID
            self.attempt = attempt
        }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The longest template accepted, in bytes.
    public static let maxBytes = 65_536
    public static let roots = ["message", "delivery", "subscription", "attempt"]

    let parts: [Part]
    /// Whether a placeholder reads into the message's data, which is then parsed once per render.
    let readsData: Bool

    public init(parsing template: String) throws(ParseError) {
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                let line = template[..<open.lowerBound].count(where: { $0 == "\n" }) + 1
                throw ParseError(description: "has a \"{{\" without a closing \"}}\" (line \(line))")
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            parts.append(.placeholder(try Self.path(name)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
        self.readsData = parts.contains { if case .placeholder(.data) = $0 { true } else { false } }
    }

    private static func path(_ name: String) throws(ParseError) -> Path {
        let components = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let root = components.first, !root.isEmpty, components.allSatisfy({ !$0.isEmpty && !$0.contains(where: \.isWhitespace) })
        else {
            throw ParseError(description: "has an empty or malformed placeholder {{ \(name) }}")
        }
        guard roots.contains(root) else {
            throw ParseError(description: "names an unknown root \"\(root)\" in {{ \(name) }}; the roots are \(roots.joined(separator: ", "))")
        }
        let field = components.dropFirst().first
        let path: Path? =
            switch (root, field, components.count) {
            case ("message", "id", 2): .messageID
            case ("message", "topic_id", 2): .topicID
            case ("message", "event_type", 2): .eventType
            case ("message", "content_type", 2): .contentType
            case ("message", "created_at", 2): .createdAt
            case ("message", "data", _): .data(Array(components.dropFirst(2)))
            case ("delivery", "id", 2): .deliveryID
            case ("subscription", "id", 2): .subscriptionID
            case ("attempt", nil, 1): .attempt
            default: nil
            }
        guard let path else {
            let known =
                switch root {
                case "message": "message.id, message.topic_id, message.event_type, message.content_type, message.created_at, message.data…"
                case "delivery": "delivery.id"
                case "subscription": "subscription.id"
                default: "attempt"
                }
            throw ParseError(description: "names an unknown field {{ \(name) }}; \(root) has \(known)")
        }
        return path
    }

    /// The body for `context`. With `json` (a JSON `payload_content_type`), a string goes in JSON-escaped without
    /// quotes and a missing value as `null`; otherwise a string goes in as it is and a missing value as nothing.
    /// Other values go in as JSON text either way.
    public func render(_ context: Context, json: Bool) -> String {
        render(context, json: json, limit: .max) ?? ""
    }

    /// As `render(_:json:)`, or `nil` as soon as the body would be longer than `limit` bytes: rendering stops there,
    /// so a template that repeats large data many times never grows past the limit and one placeholder's value.
    public func render(_ context: Context, json: Bool, limit: Int) -> String? {
        var document: JSONDocument?
        if readsData, MediaType.isJSON(context.contentType) { document = JSONDocument(context.data) }
        var output = ""
        for part in parts {
            switch part {
            case .text(let text):
                output += text
            case .placeholder(let path):
                switch Self.value(path, context, document) {
                case .missing: output += json ? "null" : ""
                case .string(let string): output += json ? String(JSONText.quoted(string).dropFirst().dropLast()) : string
                case .jsonText(let text): output += text
                }
            }
            if output.utf8.count > limit { return nil }
        }
        return output
    }

    private enum Filled {
        case missing
        case string(String)
        case jsonText(String)
    }

    private static func value(_ path: Path, _ context: Context, _ document: JSONDocument?) -> Filled {
        switch path {
        case .messageID: return .string(context.messageID)
        case .topicID: return .string(context.topicID)
        case .eventType: return context.eventType.map(Filled.string) ?? .missing
        case .contentType: return .string(context.contentType)
        case .createdAt: return .string(Timestamp.format(context.createdAt))
        case .deliveryID: return .string(context.deliveryID)
        case .subscriptionID: return .string(context.subscriptionID)
        case .attempt: return .jsonText(String(context.attempt))
        case .data(let keys):
            guard let document else {
                // Not JSON: the data is text, and has no inside to reach into.
                return keys.isEmpty ? .string(String(decoding: context.data, as: UTF8.self)) : .missing
            }
            guard let node = document.node(at: keys) else { return .missing }
            if case .string(let string) = node.value { return .string(string) }
            return .jsonText(document.text(of: node))
        }
    }

    /// The message a template is tried on when it is saved.
    public static func sampleContext(topicID: String, subscriptionID: String) -> Context {
        Context(
            messageID: "01J0000000000000000000SAMP",
            topicID: topicID,
            eventType: "sample.event",
            contentType: "application/json",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000),
            data: Array(#"{"sample": "value \"quoted\" \\ ok", "number": 1.50, "items": [{"name": "first"}]}"#.utf8),
            deliveryID: "01J0000000000000000000DLVR",
            subscriptionID: subscriptionID,
            attempt: 1
        )
    }
}
