/// The paging and `created_at` fields every list request of hammer.proto has.
protocol ProtoListRequest {
    var limit: UInt32 { get }
    var offset: UInt32 { get }
    var createdAtGt: String { get }
    var createdAtGte: String { get }
    var createdAtLt: String { get }
    var createdAtLte: String { get }
}

extension Hammer_V1_ListTopicsRequest: ProtoListRequest {}
extension Hammer_V1_ListSubscriptionsRequest: ProtoListRequest {}
extension Hammer_V1_ListMessagesRequest: ProtoListRequest {}
extension Hammer_V1_ListDeliveriesRequest: ProtoListRequest {}
extension Hammer_V1_ListDeliveryAttemptsRequest: ProtoListRequest {}

extension ListQuery {
    /// The filter of a gRPC list request, checked as REST's query string is; `filters` are its equality filters by
    /// name. Zero values are absent: limit 0 is the default page size, as in hammer.
    func filter(_ request: some ProtoListRequest, filters: [String: String] = [:]) throws -> ListFilter {
        var parameters = filters
        parameters["created_at_gt"] = request.createdAtGt
        parameters["created_at_gte"] = request.createdAtGte
        parameters["created_at_lt"] = request.createdAtLt
        parameters["created_at_lte"] = request.createdAtLte
        if request.limit > 0 { parameters["limit"] = String(request.limit) }
        if request.offset > 0 { parameters["offset"] = String(request.offset) }
        return try filter(filters: filters.keys.sorted()) { parameters[$0] }
    }
}
