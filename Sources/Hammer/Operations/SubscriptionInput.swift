/// A subscription as a create or an update gives it. `nil` is a field not given; for the fields that can be reset,
/// `.some(nil)` is a field given as null, which sets it back to its default (or removes it).
struct SubscriptionInput: Sendable {
    /// `auth` as given: its `type` and the fields of that type, checked by the operation.
    struct Auth: Sendable {
        var type: String?
        var token: String?
        var username: String?
        var password: String?
    }

    var id: String?
    var topicID: String?
    var name: String?
    var url: String?
    var secretToken: String?
    var maxDeliveryAttempts: Int?
    var deliveryAttemptDelay: Int?
    var deliveryAttemptTimeout: Int?
    var httpMethod: String??
    var headers: [String: String]??
    var auth: Auth??
    var payloadFormat: String??
    var payloadTemplate: String??
    var payloadContentType: String??
    var maxInFlight: Int??
    var rateLimit: Int??
    var ordered: Bool??
    var callbackURL: String??
    var callbackEvents: [String]??
    var eventTypes: [String]??
    /// What the front end found wrong reading the request (a value of the wrong type), answered with the rules' errors.
    var readingErrors: [HammerError.FieldError] = []
}

/// A secret rotation: the new secret (generated when absent) and how long the old one keeps signing beside it.
struct SecretRotationInput: Sendable {
    var secretToken: String?
    var gracePeriod: Int?
    var readingErrors: [HammerError.FieldError] = []
}
