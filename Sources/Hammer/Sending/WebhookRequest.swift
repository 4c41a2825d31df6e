import Crypto
import Foundation
import NIOHTTP1

/// One attempt's request as it goes on the wire, shaped by the subscription's options, and its dump for
/// the attempt record with credentials redacted.
struct WebhookRequest {
    var method: HTTPMethod
    /// In sending order, without `Host` and `Content-Length` (the client adds those).
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// The request as its attempt record keeps it: whole, or its line and headers (up to the blank line) when
    /// `recordedBody` says the message and delivery determine the body. `Authorization`, the subscription's own
    /// header values and the URL's query values are written `[redacted]`.
    var recorded: String
    var recordedBody: RecordedBody

    /// The whole request as sent, as `recorded` shows it.
    var dump: String { recordedBody == .stored ? recorded : recorded + RecordedBody.rawText(body) }

    static let redacted = "[redacted]"

    /// What the request needs beyond the delivery: signing keys and parsed templates, each made once per value.
    struct Parts {
        var userAgent: String
        /// An HMAC keyed with the secret, not yet updated.
        var key: (String) -> HMAC<SHA256>
        var template: (String) -> Result<PayloadTemplate, PayloadTemplate.ParseError>
        /// The longest rendered template body sent; longer ones are not sent.
        var maxBodyBytes: Int
    }

    /// Why a request could not be made: a stored template that does not parse, or header text that would split
    /// the request (both are refused when saved; this catches what was stored by other means).
    struct NotMade: Error, Equatable {
        var description: String
        var kind: AttemptResult.ErrorKind = .other
    }

    /// The request for `delivery`'s next attempt at `timestamp` (unix seconds), or why it cannot be made.
    static func make(
        _ delivery: ClaimedDelivery,
        target: WebhookURL?,
        url: String,
        timestamp: Int,
        parts: Parts
    ) -> Result<WebhookRequest, NotMade> {
        let options = delivery.options
        // Text bodies are kept as text for the dump; only a raw body is bytes that may not be text.
        let bodyText: String?
        let body: [UInt8]
        let contentType: String
        if case .callback(let callback) = delivery.kind {
            // A callback: its JSON event as written, whatever the subscription's payload options.
            (bodyText, contentType) = (callback, "application/json")
        } else {
            switch options.payloadFormat {
            case .cloudevents:
                (bodyText, contentType) = (delivery.cloudEventBody, "application/json")
            case .raw:
                (bodyText, contentType) = (nil, delivery.contentType)
            case .template:
                switch parts.template(options.payloadTemplate ?? "") {
                case .success(let template):
                    let json = MediaType.isJSON(options.payloadContentType)
                    guard let text = template.render(delivery.templateContext, json: json, limit: parts.maxBodyBytes) else {
                        let problem = "payload_template renders a body longer than \(parts.maxBodyBytes) bytes"
                        return .failure(NotMade(description: problem, kind: .payloadTooLarge))
                    }
                    (bodyText, contentType) = (text, options.payloadContentType)
                case .failure(let error):
                    return .failure(NotMade(description: "payload_template \(error.description)"))
                }
            }
        }
        body = bodyText.map { Array($0.utf8) } ?? Data(base64Encoded: delivery.dataBase64).map(Array.init) ?? []

        var signature = WebhookSignature.sign(keyed: parts.key(delivery.secretToken), id: delivery.id, timestamp: timestamp, body: body)
        if let previous = delivery.previousSecretToken {
            signature += " " + WebhookSignature.sign(keyed: parts.key(previous), id: delivery.id, timestamp: timestamp, body: body)
        }
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        var redactedValues: Set<Int> = []
        let custom = options.headers.sorted { $0.key < $1.key }
        if !custom.contains(where: { $0.key.lowercased() == "user-agent" }) { headers.append(("User-Agent", parts.userAgent)) }
        for (name, value) in custom {
            redactedValues.insert(headers.count)
            headers.append((name, value))
        }
        if let auth = options.auth {
            redactedValues.insert(headers.count)
            headers.append(("Authorization", auth.headerValue))
        }
        // The client writes these unchecked (and the URL's host as `Host`): only they come from outside hammer's code.
        if let bad = headers.first(where: { !HTTPHeaderText.isToken($0.name) || !HTTPHeaderText.isValidValue($0.value) }) {
            return .failure(NotMade(description: "header \(bad.name) is not valid HTTP header text"))
        }
        if let target, !target.isWritable {
            return .failure(NotMade(description: "the URL has a space or control character in its host or path"))
        }
        headers.append(("webhook-id", delivery.id))
        headers.append(("webhook-timestamp", String(timestamp)))
        headers.append(("webhook-signature", signature))

        let method = HTTPMethod(rawValue: options.httpMethod.rawValue)
        // The URL's query may carry credentials: the record shows its values redacted.
        let shownTarget = URLRedaction.redacted(target?.target ?? "/")
        var head = "\(options.httpMethod.rawValue) \(shownTarget) HTTP/1.1\r\nHost: \(target?.authority ?? URLRedaction.redacted(url))\r\n"
        for (index, header) in headers.enumerated() {
            head += header.name + ": " + (redactedValues.contains(index) ? redacted : header.value) + "\r\n"
        }
        head += "\r\n"
        let recordedBody: RecordedBody
        switch (delivery.kind, options.payloadFormat) {
        case (.message, .cloudevents): recordedBody = .cloudEvent
        case (.message, .raw): recordedBody = .raw
        default: recordedBody = .stored
        }
        // A body the record leaves out is not copied into it.
        let recorded = recordedBody == .stored ? head + (bodyText ?? RecordedBody.rawText(body)) : head
        return .success(WebhookRequest(method: method, headers: headers, body: body, recorded: recorded, recordedBody: recordedBody))
    }
}

extension ClaimedDelivery {
    /// What a payload template is filled from for this delivery's next attempt.
    var templateContext: PayloadTemplate.Context {
        PayloadTemplate.Context(
            messageID: messageID,
            topicID: topicID,
            eventType: eventType,
            contentType: contentType,
            createdAt: publishedAt,
            data: Data(base64Encoded: dataBase64).map(Array.init) ?? [],
            deliveryID: id,
            subscriptionID: subscriptionID,
            attempt: deliveryAttempts + 1
        )
    }
}
