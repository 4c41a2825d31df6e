import ArgumentParser
import Hammer

struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscription tools: send a test event.",
        subcommands: [SubscriptionsTest.self]
    )
}

struct SubscriptionsTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send a signed test event to a subscription now and print the attempt; exit 1 when it fails.",
        discussion: """
            The event is sent as the subscription's deliveries are: to its URL with its method, headers, auth, payload \
            format (a template is rendered over the test event) and timeout, signed with its secret (and the previous \
            one during a rotation). A CloudEvents test event has type hammer.subscription.test. Nothing is stored; \
            credentials in the printed request are [redacted]. HAMMER_ALLOW_PRIVATE_TARGETS applies.
            """
    )

    @Argument(help: "Subscription id.") var id: String
    @Flag(help: "Also print the request sent and the response received.") var verbose = false

    func run() async throws {
        let runtime = try Runtime()
        let id = self.id
        let subscription = try await runtime.withClient { client in
            try await Store(client: client, logger: runtime.logger).subscription(id: id)
        }
        let sender = WebhookSender(maxResponseBodyBytes: runtime.config.maxResponseBodyBytes, allowPrivateTargets: runtime.config.allowPrivateTargets)
        let test = await SubscriptionTest.run(subscription, sender: sender)
        await sender.shutdown()
        let status = test.responseStatusCode == 0 ? "no response" : "status \(test.responseStatusCode)"
        print("test event \(test.webhookID) to \(test.url): \(status) in \(test.executionDuration) ms")
        if verbose {
            print("\n--- request\n\(test.request)\n--- response\n\(test.response)")
        }
        guard test.success else {
            print("FAILED (\(test.errorKind ?? "other")): \(test.error)")
            throw ExitCode(1)
        }
        print("OK")
    }
}
