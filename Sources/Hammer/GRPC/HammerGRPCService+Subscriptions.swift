import GRPCCore
import SwiftProtobuf

extension HammerGRPCService {
    func createSubscription(
        request: ServerRequest<Hammer_V1_CreateSubscriptionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_Subscription
    > {
        let subscription = try await operations.subscriptions.create(try ProtoInputs.subscription(request.message.subscription))
        return ServerResponse(message: Hammer_V1_Subscription(subscription))
    }

    /// Sets the non-zero fields, or exactly the fields of `update_mask`; the others keep their values.
    func updateSubscription(
        request: ServerRequest<Hammer_V1_UpdateSubscriptionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_Subscription
    > {
        let message = request.message
        let input = try ProtoInputs.subscription(message.subscription, mask: message.hasUpdateMask ? message.updateMask : nil)
        let subscription = try await operations.subscriptions.update(id: message.subscription.id, input)
        return ServerResponse(message: Hammer_V1_Subscription(subscription))
    }

    func getSubscription(
        request: ServerRequest<Hammer_V1_GetSubscriptionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_Subscription
    > {
        ServerResponse(message: Hammer_V1_Subscription(try await operations.subscriptions.subscription(id: request.message.id)))
    }

    func listSubscriptions(
        request: ServerRequest<Hammer_V1_ListSubscriptionsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_ListSubscriptionsResponse
    > {
        let message = request.message
        let subscriptions = try await operations.subscriptions.subscriptions(
            try operations.listQuery.filter(message, filters: ["topic_id": message.topicID])
        )
        return ServerResponse(message: .with { $0.subscriptions = subscriptions.map(Hammer_V1_Subscription.init) })
    }

    func deleteSubscription(
        request: ServerRequest<Hammer_V1_DeleteSubscriptionRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Google_Protobuf_Empty
    > {
        try await operations.subscriptions.delete(id: request.message.id)
        return ServerResponse(message: Google_Protobuf_Empty())
    }
}
