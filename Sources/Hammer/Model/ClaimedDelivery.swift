import Foundation

/// A delivery a worker holds a lease on: everything needed to send it and record the result.
public struct ClaimedDelivery: Sendable, Equatable {
    /// What is sent: a message's delivery, a callback, or a test event.
    public enum Kind: Sendable, Equatable {
        /// A message's delivery, shaped by the subscription's delivery options.
        case message
        /// A callback (`id` is the callback's): its JSON event, sent as it is to `url` with the subscription's secrets
        /// and retry settings, without its method, headers, auth or payload options.
        case callback(body: String)
        /// A test event (`hammer subscriptions test`): its own CloudEvents type and source, not from the queue.
        case test
    }

    public var kind: Kind
    public var id: String
    public var topicID: String
    public var subscriptionID: String
    public var messageID: String
    public var contentType: String
    public var dataBase64: String
    public var eventType: String?
    public var publishedAt: Date
    /// This and everything down to `deliveryAttemptTimeout`: the subscription's settings when it was claimed.
    public var url: String
    public var secretToken: String
    /// The secret before the last rotation, while its grace period lasts: it signs too.
    public var previousSecretToken: String?
    public var options: DeliveryOptions
    public var maxDeliveryAttempts: Int
    public var deliveryAttemptDelay: Int
    public var deliveryAttemptTimeout: Int
    /// Attempts made before this one.
    public var deliveryAttempts: Int
    /// The lease (`leased_until`, microseconds since 1970); results are written only while it holds.
    public var lease: Int64
    /// The subscription's cap on concurrent sends from one worker when it was claimed (1 when ordered); `nil` when
    /// not from a claim.
    public var maxInFlight: Int?
    /// The subscription sends one at a time in publish order: the next can be claimed once this one is recorded.
    public var ordered: Bool

    /// Whether this is a callback rather than a message's delivery or a test event.
    public var isCallback: Bool {
        if case .callback = kind { return true }
        return false
    }

    public init(
        kind: Kind = .message,
        id: String,
        topicID: String,
        subscriptionID: String,
        messageID: String,
        contentType: String,
        dataBase64: String,
        eventType: String? = nil,
        publishedAt: Date,
        url: String,
        secretToken: String,
        previousSecretToken: String? = nil,
        options: DeliveryOptions = DeliveryOptions(),
        maxDeliveryAttempts: Int,
        deliveryAttemptDelay: Int,
        deliveryAttemptTimeout: Int,
        deliveryAttempts: Int,
        lease: Int64,
        maxInFlight: Int? = nil,
        ordered: Bool = false
    ) {
        self.kind = kind
        self.id = id
        self.topicID = topicID
        self.subscriptionID = subscriptionID
        self.messageID = messageID
        self.contentType = contentType
        self.dataBase64 = dataBase64
        self.eventType = eventType
        self.publishedAt = publishedAt
        self.url = url
        self.secretToken = secretToken
        self.previousSecretToken = previousSecretToken
        self.options = options
        self.maxDeliveryAttempts = maxDeliveryAttempts
        self.deliveryAttemptDelay = deliveryAttemptDelay
        self.deliveryAttemptTimeout = deliveryAttemptTimeout
        self.deliveryAttempts = deliveryAttempts
        self.lease = lease
        self.maxInFlight = maxInFlight
        self.ordered = ordered
    }

    /// The CloudEvents 1.0 body hammer sends (its field order, without the secret); `type` is the message's event
    /// type when it has one.
    public var cloudEventBody: String {
        var body = #"{"specversion":"1.0","type":"#
        if kind == .test {
            body += #""hammer.subscription.test","source":"/v1/subscriptions/"# + subscriptionID + "/test"
        } else {
            body += (eventType.map(JSONText.quoted) ?? #""hammer.message.created""#) + #","source":"/v1/messages/"# + messageID
        }
        body += #"","id":"# + JSONText.quoted(id)
        body += #","time":"# + JSONText.quoted(Timestamp.format(publishedAt))
        body += #","messageid":"# + JSONText.quoted(messageID)
        body += #","subscriptionid":"# + JSONText.quoted(subscriptionID)
        body += #","topicid":"# + JSONText.quoted(topicID)
        body += #","datacontenttype":"# + JSONText.quoted(contentType)
        body += #","data_base64":"# + JSONText.quoted(dataBase64)
        body += "}"
        return body
    }
}

/// What one claim took, and whether it may have left deliveries due that a claim at once would take.
public struct Claim: Sendable {
    public var deliveries: [ClaimedDelivery]
    /// The claim was full, reached its byte bound, or shared its limit out before every subscription with due
    /// deliveries got a part. Otherwise it took all it could but what subscriptions at their cap were kept from.
    public var mayLeaveDue: Bool
    /// A rate-limited subscription with due deliveries got less than it could take: claim again after this long,
    /// when it has a token again.
    public var rateLimitedFor: Duration?
}

/// Minimal JSON string quoting for hand-built bodies.
enum JSONText {
    static func quoted(_ string: String) -> String {
        // Ids, content types and base64 rarely need escaping: check bytes first, build only when needed.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + string + "\"" }
        var output = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20: output += String(format: "\\u%04x", scalar.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
