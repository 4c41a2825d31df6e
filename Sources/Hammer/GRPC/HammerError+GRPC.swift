import GRPCCore

extension HammerError: RPCErrorConvertible {
    /// The status code the REST error body names in `code`.
    public var rpcErrorCode: RPCError.Code {
        Status.Code(rawValue: grpcCode).flatMap(RPCError.Code.init) ?? .internalError
    }

    /// The REST body's `message`.
    public var rpcErrorMessage: String { message }

    /// `hammer-error`: the REST body's `error`; one `hammer-field-violation: <field>: <description>` per detail.
    public var rpcErrorMetadata: Metadata {
        var metadata: Metadata = ["hammer-error": .string(error)]
        for detail in details ?? [] {
            // Metadata values are printable ASCII.
            let text = "\(detail.field): \(detail.description)".unicodeScalars.map { (32...126).contains($0.value) ? Character($0) : "?" }
            metadata.addString(String(text), forKey: "hammer-field-violation")
        }
        return metadata
    }
}
