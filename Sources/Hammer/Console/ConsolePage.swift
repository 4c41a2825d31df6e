import Foundation
import Hummingbird
import Mustache
import NIOCore

/// Renders the console's pages from the Mustache templates embedded in the binary, and answers HTML.
struct ConsolePages: Sendable {
    private let library: MustacheLibrary

    init() {
        MustacheContentTypes.register(HTMLText(), named: HTMLText.contentTypeName)
        var templates: [String: MustacheTemplate] = [:]
        for (name, bytes) in Self.sources {
            // Every template escapes by Unicode scalar (see `HTMLText`), partials too.
            let source = "{{% CONTENT_TYPE: \(HTMLText.contentTypeName)}}" + String(decoding: bytes, as: UTF8.self)
            // The templates are part of the binary: one that does not parse is a build mistake, caught by every test.
            templates[name] = try! MustacheTemplate(string: source)
        }
        library = MustacheLibrary(templates: templates)
    }

    /// `template` rendered with `context`, as a `text/html` response with `status`.
    func render(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(Self.withoutEmptyText(context), withTemplate: template) ?? ""
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8",
                // Pages show delivery data: never cached, never framed, no scripts from anywhere.
                .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
                .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }

    /// `value` without empty strings, at any depth: Mustache renders a section for any string, so empty text must
    /// be absent for `{{#reason}}…{{/reason}}` to mean "when there is a reason".
    static func withoutEmptyText(_ value: [String: Any]) -> [String: Any] {
        value.compactMapValues(withoutEmptyText)
    }

    private static func withoutEmptyText(_ value: Any) -> Any? {
        switch value {
        case let text as String: text.isEmpty ? nil : text
        case let object as [String: Any]: withoutEmptyText(object)
        case let array as [[String: Any]]: array.map(withoutEmptyText)
        case let array as [String]: array.filter { !$0.isEmpty }
        default: value
        }
    }

    static let stylesheet = PackageResources.console_css

    private static let sources: [(String, [UInt8])] = [
        ("header", PackageResources.header_mustache),
        ("footer", PackageResources.footer_mustache),
        ("paging", PackageResources.paging_mustache),
        ("delivery-rows", PackageResources.delivery_rows_mustache),
        ("overview", PackageResources.overview_mustache),
        ("topics", PackageResources.topics_mustache),
        ("subscriptions", PackageResources.subscriptions_mustache),
        ("messages", PackageResources.messages_mustache),
        ("message", PackageResources.message_mustache),
        ("deliveries", PackageResources.deliveries_mustache),
        ("delivery", PackageResources.delivery_mustache),
        ("login", PackageResources.login_mustache),
        ("error", PackageResources.error_mustache),
    ]
}
