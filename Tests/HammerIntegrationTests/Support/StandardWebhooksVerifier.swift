import Foundation

/// Verifies a received webhook with the Standard Webhooks reference library (PyPI `standardwebhooks`, installed by
/// `scripts/test.sh`): an implementation nobody here wrote.
enum StandardWebhooksVerifier {
    private static let script = """
        import json, sys
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError
        secret, headers = sys.argv[1], json.loads(sys.argv[2])
        try:
            Webhook(secret).verify(sys.stdin.buffer.read(), headers, json_parse=False)
        except WebhookVerificationError as error:
            print(error)
            sys.exit(1)
        """

    /// Whether the library accepts `received` as signed with `secret` (a `whsec_` secret, as the library wants).
    static func verifies(_ received: WebhookReceiver.Received, secret: String) throws -> Bool {
        let headers = [
            "webhook-id": received.header("webhook-id") ?? "",
            "webhook-timestamp": received.header("webhook-timestamp") ?? "",
            "webhook-signature": received.header("webhook-signature") ?? "",
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, secret, String(decoding: try JSONSerialization.data(withJSONObject: headers), as: UTF8.self)]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(received.body)
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
