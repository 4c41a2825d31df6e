/// How a subscription's requests are shaped (docs/delivery-options.md): method, extra headers, target auth and payload.
/// Every attempt uses the subscription's options as they are when it is sent.
public struct DeliveryOptions: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable {
        case post = "POST"
        case put = "PUT"
        case patch = "PATCH"
    }

    public enum PayloadFormat: String, Sendable, CaseIterable {
        /// hammer's CloudEvents 1.0 envelope (docs/delivery.md).
        case cloudevents
        /// The message's bytes as published, with its content type.
        case raw
        /// `payloadTemplate` rendered over the message, with `payloadContentType`.
        case template
    }

    public static let defaultPayloadContentType = "application/json"

    public var httpMethod: Method
    /// Extra request headers, name → value.
    public var headers: [String: String]
    public var auth: TargetAuth?
    public var payloadFormat: PayloadFormat
    public var payloadTemplate: String?
    public var payloadContentType: String

    public init(
        httpMethod: Method = .post,
        headers: [String: String] = [:],
        auth: TargetAuth? = nil,
        payloadFormat: PayloadFormat = .cloudevents,
        payloadTemplate: String? = nil,
        payloadContentType: String = DeliveryOptions.defaultPayloadContentType
    ) {
        self.httpMethod = httpMethod
        self.headers = headers
        self.auth = auth
        self.payloadFormat = payloadFormat
        self.payloadTemplate = payloadTemplate
        self.payloadContentType = payloadContentType
    }
}
