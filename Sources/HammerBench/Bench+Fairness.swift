import AsyncHTTPClient
import Foundation

extension Bench {
    /// How much one slow endpoint with a deep backlog takes from the others: the fast subscriptions' backlog drained
    /// alone, then the same backlog again beside a subscription whose endpoint answers after a second, then alone once
    /// more. Beside is compared with the mean of the two drains alone around it, so a machine that speeds up or slows
    /// down during the scenario moves both sides alike. The rate of each is taken between the first tenth of the fast
    /// arrivals and the last, so worker start-up is left out.
    func fairness(_ http: HTTPClient) async throws -> Results.Fairness {
        let fast = settings.quick ? 2_000 : 40_000
        let slow = settings.quick ? 200 : 2_000
        let before = try await drainRate(http, topic: "fair-alone", deliveries: fast)
        let beside = try await drainRate(http, topic: "fair-mixed", deliveries: fast, slowBacklog: slow)
        let after = try await drainRate(http, topic: "fair-alone-again", deliveries: fast)
        return .init(fastDeliveries: fast, slowBacklog: slow, aloneRates: [before, after], besideSlowRate: beside)
    }
}
