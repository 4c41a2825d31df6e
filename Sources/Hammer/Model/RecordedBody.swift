import Foundation

/// Where an attempt's request body is kept: in the attempt's record, or rebuilt from the message and delivery that
/// determine it, so that a message's body is not stored again with every attempt at it.
public enum RecordedBody: Int16, Sendable {
    /// The record holds the whole request: a template's rendered body, a callback's event, or a record set aside.
    case stored = 0
    /// The record holds the request line and headers; the body is the delivery's CloudEvents envelope.
    case cloudEvent = 1
    /// The record holds the request line and headers; the body is the message's bytes.
    case raw = 2

    /// A raw body as the request record shows it: its bytes read as UTF-8, a NUL (which PostgreSQL text cannot hold)
    /// as U+FFFD.
    public static func rawText(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return bytes.contains(0) ? text.replacingOccurrences(of: "\0", with: "\u{FFFD}") : text
    }

    /// The body this record leaves out, rebuilt from the delivery it was sent for; `nil` when the record holds it.
    public func body(of delivery: ClaimedDelivery) -> String? {
        switch self {
        case .stored: nil
        case .cloudEvent: delivery.cloudEventBody
        case .raw: Self.rawText(Data(base64Encoded: delivery.dataBase64).map(Array.init) ?? [])
        }
    }
}
