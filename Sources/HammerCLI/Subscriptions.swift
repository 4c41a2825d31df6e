import ArgumentParser
import Hammer

struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscription tools: send a test event, disable, enable.",
        subcommands: [SubscriptionsTest.self, SubscriptionsDisable.self, SubscriptionsEnable.self]
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
        let sender = WebhookSender(config: runtime.config)
        let test: SubscriptionTest
        do {
            test = try await runtime.withSubscriptions(sender: sender) { try await $0.test(id: id) }
            await sender.shutdown()
        } catch {
            await sender.shutdown()
            throw error
        }
        let status = test.responseStatusCode == 0 ? "no response" : "status \(test.responseStatusCode)"
        print("test event \(test.webhookID) to \(test.url): \(status) in \(test.executionDuration) ms")
        if verbose {
            print("\n--- request\n\(test.request)\n--- response\n\(test.response)")
        }
        guard test.success else {
            print("FAILED (\(test.errorKind.isEmpty ? "other" : test.errorKind)): \(test.error)")
            throw ExitCode(1)
        }
        print("OK")
    }
}

struct SubscriptionsDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Stop sending to a subscription; its deliveries wait pending until it is enabled.",
        discussion: "The same as POST /v1/subscriptions/ID/disable. Sends in flight finish; nothing new is sent."
    )

    @Argument(help: "Subscription id.") var id: String

    func run() async throws {
        let runtime = try Runtime()
        let id = self.id
        let subscription = try await runtime.withSubscriptions { try await $0.disable(id: id) }
        print("subscription \(subscription.id) is \(subscription.status.rawValue) (\(subscription.disabledReason ?? ""))")
    }
}

struct SubscriptionsEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Send to a disabled subscription again; its pending deliveries are due at once.",
        discussion: "The same as POST /v1/subscriptions/ID/enable. Also resets the failing-since clock of auto-disable."
    )

    @Argument(help: "Subscription id.") var id: String

    func run() async throws {
        let runtime = try Runtime()
        let id = self.id
        let subscription = try await runtime.withSubscriptions { try await $0.enable(id: id) }
        print("subscription \(subscription.id) is \(subscription.status.rawValue)")
    }
}
