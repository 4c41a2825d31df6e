import Hummingbird

/// `/v1/topics`: create, read, list, rename and delete topics.
struct TopicController {
    let store: Store
    let maxBodyBytes: Int
    let listQuery: ListQuery

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("topics", use: create)
        group.get("topics", use: list)
        group.get("topics/:id", use: get)
        group.patch("topics/:id", use: update)
        group.delete("topics/:id", use: delete)
    }

    @Sendable func create(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await create(try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "topic")))
    }

    @Sendable func update(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        return try JSONResponse.make(try await update(id: id, try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "topic")))
    }

    /// Creates a topic from `id` and `name` (REST and gRPC).
    func create(_ body: RequestBody) async throws -> Topic {
        var reader = FieldReader(body)
        let id = reader.string("id")
        let name = reader.string("name")
        Validation.requireID(id, field: "id", in: &reader)
        Validation.requireText(name, field: "name", in: &reader)
        try reader.check("topic")
        return try await store.createTopic(id: id!, name: name!)
    }

    /// Renames a topic when `name` is given; answers it as stored (REST and gRPC).
    func update(id: String, _ body: RequestBody) async throws -> Topic {
        var reader = FieldReader(body)
        let name = reader.string("name")
        if let name { Validation.requireText(name, field: "name", in: &reader) }
        try reader.check("topic")
        return try await store.updateTopic(id: id, name: name)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.topic(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("topics", try await store.topics(try listQuery.filter(request)))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await store.deleteTopic(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }
}
