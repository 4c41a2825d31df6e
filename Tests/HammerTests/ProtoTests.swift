import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import Hammer

/// The committed generated code (`make proto`) says what proto/hammer/v1/hammer.proto says.
@Suite struct ProtoTests {
    @Test func theServiceIsHammersWithItsEighteenMethods() {
        #expect(Hammer_V1_Hammer.descriptor.fullyQualifiedService == "hammer.v1.Hammer")
        let methods = Hammer_V1_Hammer.Method.descriptors.map(\.method)
        #expect(methods.count == 18)
        #expect(Set(methods).isSuperset(of: ["CreateTopic", "ListDeliveryAttempts", "GetDeliveryAttempt", "UpdateSubscription"]))
    }

    @Test func fieldsKeepHammersNumbersOnTheWire() throws {
        var topic = Hammer_V1_Topic()
        topic.id = "orders"
        topic.name = "Orders"
        // Field 1 (id) and 2 (name), length-delimited: the bytes any hammer client produces.
        #expect(Array(try topic.serializedBytes() as [UInt8]) == [0x0A, 6] + Array("orders".utf8) + [0x12, 6] + Array("Orders".utf8))
        var subscription = Hammer_V1_Subscription()
        subscription.maxDeliveryAttempts = 5
        subscription.ordered = true
        // max_delivery_attempts = 6 (varint), ordered = 21 (varint: key 21 << 3 = 168, two bytes).
        #expect(Array(try subscription.serializedBytes() as [UInt8]) == [0x30, 5, 0xA8, 0x01, 1])
    }
}
