import Foundation

@testable import Hammer

extension ClaimedDelivery {
    /// A claimed delivery for tests that need one but care about few of its fields.
    static func sample(id: String = "01J00000000000000000000000", subscriptionID: String = "s", url: String = "http://x") -> ClaimedDelivery {
        ClaimedDelivery(
            id: id,
            topicID: "t",
            subscriptionID: subscriptionID,
            messageID: id,
            contentType: "application/json",
            dataBase64: "e30=",
            publishedAt: Date(),
            url: url,
            secretToken: "k",
            maxDeliveryAttempts: 1,
            deliveryAttemptDelay: 1,
            deliveryAttemptTimeout: 1,
            deliveryAttempts: 0,
            lease: 0
        )
    }
}
