/// One message to publish: its topic, content type, and its bytes in base64.
public struct PublishRequest: Sendable {
    public var topicID: String
    public var contentType: String
    public var dataBase64: String

    public init(topicID: String, contentType: String, dataBase64: String) {
        self.topicID = topicID
        self.contentType = contentType
        self.dataBase64 = dataBase64
    }
}
