import GRPCCore

extension Metadata {
    /// The first text value under `key` (`authorization`, `idempotency-key`), if any.
    func firstString(_ key: String) -> String? {
        self[stringValues: key].first { _ in true }
    }
}
