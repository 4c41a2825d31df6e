import Foundation

extension DeliveryOptions {
    public static let maxHeaders = 32
    static let maxHeaderValueBytes = 8192
    /// Set by hammer itself (or by `auth`), so a subscription cannot set them; `webhook-*` neither.
    static let reservedHeaders = ["host", "content-length", "content-type", "transfer-encoding", "connection", "authorization"]

    /// One entry per bad header (`headers.<name>`), in name order; values are never quoted (they may be secrets).
    public static func headerErrors(_ headers: [String: String]) -> [HammerError.FieldError] {
        var errors: [HammerError.FieldError] = []
        if headers.count > maxHeaders { errors.append(.init("headers", "must have at most \(maxHeaders) headers, got \(headers.count)")) }
        var seen: [String: String] = [:]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            let field = "headers.\(name)"
            let lowered = name.lowercased()
            if !HTTPHeaderText.isToken(name) || name.utf8.count > 256 {
                errors.append(.init(field, "is not a valid header name (1 to 256 letters, digits or !#$%&'*+-.^_`|~)"))
            } else if lowered == "authorization" {
                errors.append(.init(field, "is set by hammer; use auth for bearer or basic credentials"))
            } else if reservedHeaders.contains(lowered) || lowered.hasPrefix("webhook-") {
                errors.append(.init(field, "is set by hammer and cannot be overridden"))
            } else if let other = seen[lowered] {
                errors.append(.init(field, "repeats \(other) (header names are case-insensitive)"))
            } else if !HTTPHeaderText.isValidValue(value) {
                errors.append(.init(field, "value " + HTTPHeaderText.valueRule))
            } else if value.utf8.count > maxHeaderValueBytes {
                errors.append(.init(field, "value must be at most \(maxHeaderValueBytes) bytes"))
            }
            seen[lowered] = name
        }
        return errors
    }

    /// Entries for a bad `auth` (`auth.token`, `auth.username`, `auth.password`); values are never quoted.
    public static func authErrors(_ auth: TargetAuth) -> [HammerError.FieldError] {
        var errors: [HammerError.FieldError] = []
        func check(_ value: String, _ field: String, allowEmpty: Bool = false) {
            if value.isEmpty, !allowEmpty {
                errors.append(.init(field, "must not be empty"))
            } else if !HTTPHeaderText.isValidValue(value) {
                errors.append(.init(field, HTTPHeaderText.valueRule))
            } else if value.utf8.count > 4096 {
                errors.append(.init(field, "must be at most 4096 bytes"))
            }
        }
        switch auth {
        case .bearer(let token):
            check(token, "auth.token")
        case .basic(let username, let password):
            check(username, "auth.username")
            if username.contains(":") { errors.append(.init("auth.username", "must not contain ':'")) }
            check(password, "auth.password", allowEmpty: true)
        }
        return errors
    }

    /// Entries for a payload that cannot be sent: a `template` format without a template, a template that does not
    /// parse or whose JSON `payload_content_type` it does not render valid JSON for (tried on a sample message).
    public func payloadErrors(topicID: String, subscriptionID: String) -> [HammerError.FieldError] {
        var errors: [HammerError.FieldError] = []
        if payloadContentType.trimmingCharacters(in: .whitespaces).isEmpty || !HTTPHeaderText.isValidValue(payloadContentType)
            || payloadContentType.utf8.count > 255
        {
            errors.append(.init("payload_content_type", "must be a media type of printable ASCII, at most 255 bytes"))
        }
        guard let text = payloadTemplate else {
            if payloadFormat == .template { errors.append(.init("payload_template", "is required when payload_format is template")) }
            return errors
        }
        if text.utf8.count > PayloadTemplate.maxBytes {
            errors.append(.init("payload_template", "must be at most \(PayloadTemplate.maxBytes) bytes"))
            return errors
        }
        let template: PayloadTemplate
        do {
            template = try PayloadTemplate(parsing: text)
        } catch {
            errors.append(.init("payload_template", error.description))
            return errors
        }
        if MediaType.isJSON(payloadContentType), errors.isEmpty {
            let sample = template.render(PayloadTemplate.sampleContext(topicID: topicID, subscriptionID: subscriptionID), json: true)
            if JSONDocument(sample) == nil {
                let shown = sample.count > 300 ? sample.prefix(300) + "…" : Substring(sample)
                errors.append(
                    .init(
                        "payload_template",
                        "does not render to valid JSON for a sample message (payload_content_type \(payloadContentType) is JSON); it rendered: \(shown)"
                    )
                )
            }
        }
        return errors
    }
}
