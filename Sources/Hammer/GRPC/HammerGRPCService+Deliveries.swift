import GRPCCore

extension HammerGRPCService {
    func getDelivery(request: ServerRequest<Hammer_V1_GetDeliveryRequest>, context: ServerContext) async throws -> ServerResponse<Hammer_V1_Delivery>
    {
        ServerResponse(message: Hammer_V1_Delivery(try await operations.deliveries.delivery(id: request.message.id)))
    }

    func listDeliveries(
        request: ServerRequest<Hammer_V1_ListDeliveriesRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_ListDeliveriesResponse
    > {
        let message = request.message
        let deliveries = try await operations.deliveries.deliveries(
            try operations.listQuery.filter(
                message,
                filters: [
                    "topic_id": message.topicID, "subscription_id": message.subscriptionID, "message_id": message.messageID, "status": message.status,
                ]
            )
        )
        return ServerResponse(message: .with { $0.deliveries = deliveries.map(Hammer_V1_Delivery.init) })
    }

    func getDeliveryAttempt(
        request: ServerRequest<Hammer_V1_GetDeliveryAttemptRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_DeliveryAttempt
    > {
        ServerResponse(message: Hammer_V1_DeliveryAttempt(try await operations.deliveries.attempt(id: request.message.id)))
    }

    func listDeliveryAttempts(
        request: ServerRequest<Hammer_V1_ListDeliveryAttemptsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<
        Hammer_V1_ListDeliveryAttemptsResponse
    > {
        let message = request.message
        let attempts = try await operations.deliveries.attempts(
            try operations.listQuery.filter(message, filters: ["delivery_id": message.deliveryID])
        )
        return ServerResponse(message: .with { $0.deliveryAttempts = attempts.map(Hammer_V1_DeliveryAttempt.init) })
    }
}
