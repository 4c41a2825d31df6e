/// Topics: create, read, list, rename and delete.
struct TopicOperations: Sendable {
    let store: Store

    static let fieldOrder = ["id", "name"]

    /// Creates a topic from `id` and `name`, both required.
    func create(_ input: TopicInput) async throws -> Topic {
        var check = FieldCheck(order: Self.fieldOrder, reading: input.readingErrors)
        let id = check.text(input.id, field: "id")
        let name = check.text(input.name, field: "name")
        check.requireID(id, field: "id")
        check.requireText(name, field: "name")
        try check.check("topic")
        guard let id, let name else { throw HammerError.internalError }
        return try await store.createTopic(id: id, name: name)
    }

    /// Renames a topic when `name` is given; answers it as stored.
    func update(id: String, _ input: TopicInput) async throws -> Topic {
        var check = FieldCheck(order: Self.fieldOrder, reading: input.readingErrors)
        let name = check.text(input.name, field: "name")
        if let name { check.requireText(name, field: "name") }
        try check.check("topic")
        return try await store.updateTopic(id: id, name: name)
    }

    func topic(id: String) async throws -> Topic { try await store.topic(id: id) }

    func topics(_ filter: ListFilter) async throws -> [Topic] { try await store.topics(filter) }

    func delete(id: String) async throws { try await store.deleteTopic(id: id) }
}
