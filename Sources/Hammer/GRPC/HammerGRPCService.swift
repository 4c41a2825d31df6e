import GRPCCore
import SwiftProtobuf

/// `hammer.v1.Hammer`: hammer's gRPC API, answering through the same operations as the REST API; handlers only
/// translate between protobuf and those operations. Errors become statuses in `GRPCErrorInterceptor`.
struct HammerGRPCService: Hammer_V1_Hammer.ServiceProtocol {
    let operations: ResourceOperations
    /// `HAMMER_MAX_MESSAGE_BYTES`: the most message data `CreateMessage` takes.
    let maxMessageBytes: Int

    func createTopic(request: ServerRequest<Hammer_V1_CreateTopicRequest>, context: ServerContext) async throws -> ServerResponse<Hammer_V1_Topic> {
        let topic = try await operations.topics.create(try ProtoInputs.topic(request.message.topic))
        return ServerResponse(message: Hammer_V1_Topic(topic))
    }

    func updateTopic(request: ServerRequest<Hammer_V1_UpdateTopicRequest>, context: ServerContext) async throws -> ServerResponse<Hammer_V1_Topic> {
        let message = request.message
        let input = try ProtoInputs.topic(message.topic, mask: message.hasUpdateMask ? message.updateMask : nil)
        return ServerResponse(message: Hammer_V1_Topic(try await operations.topics.update(id: message.topic.id, input)))
    }

    func getTopic(request: ServerRequest<Hammer_V1_GetTopicRequest>, context: ServerContext) async throws -> ServerResponse<Hammer_V1_Topic> {
        ServerResponse(message: Hammer_V1_Topic(try await operations.topics.topic(id: request.message.id)))
    }

    func listTopics(
        request: ServerRequest<Hammer_V1_ListTopicsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_ListTopicsResponse
    > {
        let topics = try await operations.topics.topics(try operations.listQuery.filter(request.message))
        return ServerResponse(message: .with { $0.topics = topics.map(Hammer_V1_Topic.init) })
    }

    func deleteTopic(
        request: ServerRequest<Hammer_V1_DeleteTopicRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Google_Protobuf_Empty
    > {
        try await operations.topics.delete(id: request.message.id)
        return ServerResponse(message: Google_Protobuf_Empty())
    }

    func createMessage(
        request: ServerRequest<Hammer_V1_CreateMessageRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_Message
    > {
        guard request.message.message.data.utf8.count <= maxMessageBytes else { throw HammerError.payloadTooLarge(limit: maxMessageBytes) }
        let scope = PublishScope(
            endpoint: "messages",
            idempotencyKey: request.metadata.firstString("idempotency-key"),
            authorization: request.metadata.firstString("authorization")
        )
        let (message, replayed) = try await operations.messages.publish(ProtoInputs.message(request.message.message), scope: scope)
        return ServerResponse(message: Hammer_V1_Message(message), metadata: replayed ? ["idempotent-replayed": "true"] : [:])
    }

    func getMessage(request: ServerRequest<Hammer_V1_GetMessageRequest>, context: ServerContext) async throws -> ServerResponse<Hammer_V1_Message> {
        ServerResponse(message: Hammer_V1_Message(try await operations.messages.message(id: request.message.id)))
    }

    func listMessages(
        request: ServerRequest<Hammer_V1_ListMessagesRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_ListMessagesResponse
    > {
        let message = request.message
        let messages = try await operations.messages.messages(try operations.listQuery.filter(message, filters: ["topic_id": message.topicID]))
        return ServerResponse(message: .with { $0.messages = messages.map(Hammer_V1_Message.init) })
    }

    func deleteMessage(
        request: ServerRequest<Hammer_V1_DeleteMessageRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Google_Protobuf_Empty
    > {
        try await operations.messages.delete(id: request.message.id)
        return ServerResponse(message: Google_Protobuf_Empty())
    }
}
