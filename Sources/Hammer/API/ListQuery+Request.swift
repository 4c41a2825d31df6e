import Hummingbird

extension ListQuery {
    /// The filter of a REST list request's query string.
    func filter(_ request: Request, filters: [String] = []) throws -> ListFilter {
        let parameters = request.uri.queryParameters
        return try filter(filters: filters) { name in parameters[name[...]].map(String.init) }
    }
}
