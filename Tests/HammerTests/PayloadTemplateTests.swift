import Foundation
import Testing

@testable import Hammer

@Suite struct PayloadTemplateTests {
    private func context(data: String, contentType: String = "application/json", eventType: String? = "invoice.paid") -> PayloadTemplate.Context {
        PayloadTemplate.Context(
            messageID: "M1",
            topicID: "orders",
            eventType: eventType,
            contentType: contentType,
            createdAt: Date(timeIntervalSince1970: 1_589_546_785.789143),
            data: Array(data.utf8),
            deliveryID: "D1",
            subscriptionID: "S1",
            attempt: 3
        )
    }

    private func render(_ template: String, data: String = "{}", contentType: String = "application/json", json: Bool = true) throws -> String {
        try PayloadTemplate(parsing: template).render(context(data: data, contentType: contentType), json: json)
    }

    @Test func fillsEveryRoot() throws {
        let template =
            #"{{message.id}} {{ message.topic_id }} {{message.event_type}} {{message.content_type}} {{message.created_at}} {{delivery.id}} {{subscription.id}} {{attempt}}"#
        #expect(try render(template, json: false) == "M1 orders invoice.paid application/json 2020-05-15T12:46:25.789143Z D1 S1 3")
    }

    @Test func renderingStopsAtTheLimit() throws {
        let template = try PayloadTemplate(parsing: "[" + String(repeating: "{{message.data}}", count: 100) + "]")
        let data = String(repeating: "x", count: 10)
        #expect(template.render(context(data: data, contentType: "text/plain"), json: false, limit: 1002)?.utf8.count == 1002)
        #expect(template.render(context(data: data, contentType: "text/plain"), json: false, limit: 1001) == nil)
    }

    @Test func navigatesKeysAndIndexesAndKeepsNumbersAsPublished() throws {
        let data = #"{"user": {"id": 12345678901234567890, "name": "Ann"}, "items": [{"name": "first", "price": 1.50}], "ok": true, "none": null}"#
        #expect(try render(#"{"id": {{ message.data.user.id }}}"#, data: data) == #"{"id": 12345678901234567890}"#)
        #expect(try render(#"{"n": "{{message.data.user.name}}"}"#, data: data) == #"{"n": "Ann"}"#)
        #expect(try render(#"{{message.data.items.0.name}} {{message.data.items.0.price}}"#, data: data, json: false) == "first 1.50")
        #expect(try render(#"{{message.data.ok}} {{message.data.none}}"#, data: data) == "true null")
        #expect(try render(#"{"items": {{message.data.items}}}"#, data: data) == #"{"items": [{"name": "first", "price": 1.50}]}"#)
        #expect(try render("{{message.data}}", data: data) == data)
    }

    @Test func escapesStringsInJSONAndNotOutside() throws {
        let data = #"{"s": "say \"hi\" \\ back\nnow"}"#
        #expect(try render(#"{"s": "{{message.data.s}}"}"#, data: data) == #"{"s": "say \"hi\" \\ back\nnow"}"#)
        #expect(try render("{{message.data.s}}", data: data, contentType: "application/json", json: false) == "say \"hi\" \\ back\nnow")
    }

    @Test func missingPathsAreNullInJSONAndEmptyOtherwise() throws {
        let data = #"{"a": [1, 2]}"#
        for path in ["message.data.b", "message.data.a.5", "message.data.a.x", "message.data.a.0.deeper", "message.data.a.01"] {
            #expect(try render("{{\(path)}}", data: data) == "null")
            #expect(try render("<{{\(path)}}>", data: data, json: false) == "<>")
        }
        let noEvent = try PayloadTemplate(parsing: "{{message.event_type}}")
        #expect(noEvent.render(context(data: "{}", eventType: nil), json: true) == "null")
    }

    @Test func dataOfANonJSONMessageIsItsText() throws {
        #expect(try render(#"{"text": "{{message.data}}"}"#, data: "line \"1\"", contentType: "text/plain") == #"{"text": "line \"1\""}"#)
        #expect(try render("{{message.data.x}}", data: "plain", contentType: "text/plain") == "null")
        // JSON content type but not JSON: still its text.
        #expect(try render(#""{{message.data}}""#, data: "not json") == #""not json""#)
    }

    @Test func refusesUnknownRootsFieldsAndMalformedPlaceholders() {
        for bad in [
            "{{ msg.id }}", "{{ message.idx }}", "{{ delivery.url }}", "{{ attempt.x }}", "{{ }}", "{{ message..id }}", "{{ message.id",
            "{{ message.id.x }}",
        ] {
            #expect(throws: PayloadTemplate.ParseError.self, "\(bad)") { try PayloadTemplate(parsing: bad) }
        }
        #expect((try? PayloadTemplate(parsing: "no placeholders at all")) != nil)
    }

    @Test func validationRendersASampleForJSONContentTypes() {
        func errors(_ template: String?, format: DeliveryOptions.PayloadFormat = .template, contentType: String = "application/json") -> [String] {
            DeliveryOptions(payloadFormat: format, payloadTemplate: template, payloadContentType: contentType)
                .payloadErrors(topicID: "t", subscriptionID: "s").map(\.field)
        }
        #expect(errors(#"{"id": "{{message.id}}", "n": {{message.data.number}}}"#).isEmpty)
        #expect(errors(#"{"id": {{message.id}}}"#) == ["payload_template"])
        #expect(errors(#"{"id": "{{message.id}}""#) == ["payload_template"])
        #expect(errors(#"id={{message.id}}"#, contentType: "text/plain").isEmpty)
        #expect(errors(#"{"x": {{nope}}}"#, contentType: "text/plain") == ["payload_template"])
        #expect(errors(nil) == ["payload_template"])
        #expect(errors(nil, format: .raw).isEmpty)
        #expect(errors("{}", contentType: "application/vnd.api+json").isEmpty)
        #expect(errors("x", contentType: "bad\r\ntype") == ["payload_content_type"])
    }
}

@Suite struct JSONDocumentTests {
    @Test func acceptsValidJSONAndRefusesTheRest() {
        for valid in ["0", "-1.5e+10", #""a\u00e9\ud83d\ude00""#, "[]", "{}", #" {"a": [1, true, false, null, {"b": "c"}]} "#] {
            #expect(JSONDocument(valid) != nil, "\(valid)")
        }
        for invalid in [
            "", "01", "1.", ".5", "+1", "[1,]", "{\"a\":1,}", "{'a': 1}", "\"a\nb\"", "tru", "nul", "[1] 2", "{\"a\" 1}", "\"\\x\"", "NaN",
        ] {
            #expect(JSONDocument(invalid) == nil, "\(invalid)")
        }
        #expect(JSONDocument(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)) == nil)
    }

    @Test func decodesStringEscapes() throws {
        let document = try #require(JSONDocument(#"{"s": "q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00"}"#))
        guard case .string(let value)? = document.node(at: ["s"])?.value else {
            Issue.record("not a string")
            return
        }
        #expect(value == "q\" b\\ s/ \u{08}\u{0C}\n\r\t é 😀")
    }
}
