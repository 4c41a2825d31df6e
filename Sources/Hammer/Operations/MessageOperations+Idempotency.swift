/// Publishing under an idempotency key.
extension MessageOperations {
    /// Publishes `messages` as one request, honouring an idempotency key: a live key used for the same request
    /// answers what that request created (`replayed`), for another request 422, while its request is still being
    /// processed here 409. The key is recorded in the same transaction as the messages; with API keys set, keys are
    /// kept per API key.
    func publish(_ messages: [PublishRequest], scope: PublishScope) async throws -> (messages: [Message], replayed: Bool) {
        guard let idempotencyKey = scope.idempotencyKey else {
            switch try await publisher.publish(messages, key: nil) {
            case .published(let created): return (created, false)
            case .unknownTopic, .keyTakenOrUnknownTopic: throw try await unknownTopic(messages)
            }
        }
        if let problem = IdempotencyKey.problem(idempotencyKey) {
            throw HammerError(.invalidArgument, "invalid_idempotency_key", problem)
        }
        let apiKey = authenticated ? APIKeys.bearerKey(scope.authorization) : nil
        let key = IdempotencyKey(key: idempotencyKey, apiKey: apiKey, endpoint: scope.endpoint, requests: messages)
        if let replay = try await replay(key) { return (replay, true) }
        guard keysInUse.withLockedValue({ $0.insert(key.slot).inserted }) else { throw HammerError.idempotencyKeyInUse }
        defer { _ = keysInUse.withLockedValue { $0.remove(key.slot) } }
        switch try await publisher.publish(messages, key: key) {
        case .published(let created):
            return (created, false)
        case .unknownTopic, .keyTakenOrUnknownTopic:
            // Another server may have recorded the key meanwhile; otherwise a topic was missing.
            if let replay = try await replay(key) { return (replay, true) }
            throw try await unknownTopic(messages)
        }
    }

    /// The messages `key`'s request created, when its key is live. A key whose messages are gone (deleted, or their
    /// topic, or cleaned up) is dropped and treated as expired: the request is published anew.
    private func replay(_ key: IdempotencyKey) async throws -> [Message]? {
        guard let record = try await store.idempotencyRecord(key) else { return nil }
        guard record.requestHash == key.requestHash else { throw HammerError.idempotencyKeyMismatch }
        let messages = try await store.messages(ids: record.messageIDs)
        guard messages.count == record.messageIDs.count, !messages.isEmpty else {
            try await store.deleteIdempotencyRecord(key, messageIDs: record.messageIDs)
            return nil
        }
        return messages
    }

    private func unknownTopic(_ messages: [PublishRequest]) async throws -> HammerError {
        let missing = try await store.firstMissingTopic(messages.map(\.topicID)) ?? messages.first?.topicID ?? ""
        return HammerError.doesNotExist("topic", id: missing)
    }
}
