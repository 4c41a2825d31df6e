/// An attempt whose dumps may have been cut, with their full sizes in bytes.
public struct CutAttempt: Sendable {
    public var attempt: DeliveryAttempt
    public var requestBytes: Int
    public var responseBytes: Int
}
