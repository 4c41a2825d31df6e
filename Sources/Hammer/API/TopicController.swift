import Hummingbird

/// `/v1/topics`: create, read, list, rename and delete topics.
struct TopicController {
    let topics: TopicOperations
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
        let body = try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "topic")
        return try JSONResponse.make(try await topics.create(TopicInput(body)))
    }

    @Sendable func update(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let body = try await RequestBody.read(request, limit: maxBodyBytes, wrapper: "topic")
        return try JSONResponse.make(try await topics.update(id: id, TopicInput(body.without("id"))))
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await topics.topic(id: try context.parameters.require("id")))
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.list("topics", try await topics.topics(try listQuery.filter(request)))
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try await topics.delete(id: try context.parameters.require("id"))
        return JSONResponse.empty()
    }
}
