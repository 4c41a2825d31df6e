import Hammer

extension DeliveryOutcome {
    /// A successful attempt of `delivery`, as a worker records it.
    static func completion(of delivery: ClaimedDelivery) -> DeliveryOutcome {
        let result = AttemptResult(
            delivery: delivery,
            attemptID: ULID.make(),
            request: "POST /",
            response: "HTTP/1.1 200 OK",
            statusCode: 200,
            durationMilliseconds: 1,
            success: true,
            error: "",
            errorKind: nil,
            retryAfter: nil
        )
        return DeliveryOutcome(result: result, status: .completed)
    }
}
