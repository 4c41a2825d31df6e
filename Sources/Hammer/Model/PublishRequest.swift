/// One message to publish: its topic, content type, its bytes in base64, and its event type.
public struct PublishRequest: Sendable {
    public var topicID: String
    public var contentType: String
    public var dataBase64: String
    public var eventType: String?

    public init(topicID: String, contentType: String, dataBase64: String, eventType: String? = nil) {
        self.topicID = topicID
        self.contentType = contentType
        self.dataBase64 = dataBase64
        self.eventType = eventType
    }
}
