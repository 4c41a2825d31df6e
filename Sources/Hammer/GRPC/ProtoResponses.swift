import Foundation
import SwiftProtobuf

// The resources as gRPC answers them: the same values as the REST bodies, with proto3 zeros for JSON's nulls.

extension Hammer_V1_Topic {
    init(_ topic: Topic) {
        self.init()
        id = topic.id
        name = topic.name
        createdAt = Google_Protobuf_Timestamp(date: topic.createdAt)
        updatedAt = Google_Protobuf_Timestamp(date: topic.updatedAt)
    }
}

extension Hammer_V1_Subscription {
    /// Lists leave out `secret_token`, `headers` and `auth`, as REST does.
    init(_ subscription: Subscription) {
        self.init()
        id = subscription.id
        topicID = subscription.topicID
        name = subscription.name
        url = subscription.shownURL
        maxDeliveryAttempts = UInt32(subscription.maxDeliveryAttempts)
        deliveryAttemptDelay = UInt32(subscription.deliveryAttemptDelay)
        deliveryAttemptTimeout = UInt32(subscription.deliveryAttemptTimeout)
        createdAt = Google_Protobuf_Timestamp(date: subscription.createdAt)
        updatedAt = Google_Protobuf_Timestamp(date: subscription.updatedAt)
        let options = subscription.options
        if !subscription.hidesCredentials {
            secretToken = subscription.secretToken ?? ""
            headers = options.headers
            switch options.auth {
            case .bearer(let token)?: auth = .with { ($0.type, $0.token) = ("bearer", token) }
            case .basic(let username, let password)?: auth = .with { ($0.type, $0.username, $0.password) = ("basic", username, password) }
            case nil: break
            }
        }
        httpMethod = options.httpMethod.rawValue
        payloadFormat = options.payloadFormat.rawValue
        if let template = options.payloadTemplate { payloadTemplate = template }
        payloadContentType = options.payloadContentType
        eventTypes = subscription.eventTypes
        if let expiry = subscription.previousSecretExpiresAt { previousSecretExpiresAt = Google_Protobuf_Timestamp(date: expiry) }
        if let limit = subscription.limits.maxInFlight { maxInFlight = UInt32(limit) }
        if let limit = subscription.limits.rateLimit { rateLimit = UInt32(limit) }
        ordered = subscription.limits.ordered
        if let url = subscription.shownCallbackURL { callbackURL = url }
        callbackEvents = subscription.callbackEvents.map(\.rawValue)
        status = subscription.status.rawValue
        disabledReason = subscription.disabledReason ?? ""
        if let date = subscription.disabledAt { disabledAt = Google_Protobuf_Timestamp(date: date) }
    }
}

extension Hammer_V1_Message {
    init(_ message: Message) {
        self.init()
        id = message.id
        topicID = message.topicID
        contentType = message.contentType
        data = message.data
        eventType = message.eventType ?? ""
        createdAt = Google_Protobuf_Timestamp(date: message.createdAt)
    }
}

extension Hammer_V1_Delivery {
    /// `secret_token` stays empty: deliveries keep no copy of the subscription's secret.
    init(_ delivery: Delivery) {
        self.init()
        id = delivery.id
        topicID = delivery.topicID
        subscriptionID = delivery.subscriptionID
        messageID = delivery.messageID
        contentType = delivery.contentType
        data = delivery.data
        eventType = delivery.eventType ?? ""
        url = URLRedaction.redacted(delivery.url)
        maxDeliveryAttempts = UInt32(delivery.maxDeliveryAttempts)
        deliveryAttemptDelay = UInt32(delivery.deliveryAttemptDelay)
        deliveryAttemptTimeout = UInt32(delivery.deliveryAttemptTimeout)
        scheduledAt = Google_Protobuf_Timestamp(date: delivery.scheduledAt)
        deliveryAttempts = UInt32(delivery.deliveryAttempts)
        status = delivery.status.rawValue
        createdAt = Google_Protobuf_Timestamp(date: delivery.createdAt)
        updatedAt = Google_Protobuf_Timestamp(date: delivery.updatedAt)
    }
}

extension Hammer_V1_DeliveryAttempt {
    init(_ attempt: DeliveryAttempt) {
        self.init()
        id = attempt.id
        deliveryID = attempt.deliveryID
        request = attempt.request
        response = attempt.response
        responseStatusCode = UInt32(clamping: attempt.responseStatusCode)
        executionDuration = UInt32(clamping: attempt.executionDuration)
        success = attempt.success
        error = attempt.error
        errorKind = attempt.errorKind
        createdAt = Google_Protobuf_Timestamp(date: attempt.createdAt)
    }
}
