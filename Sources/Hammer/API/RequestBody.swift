import Foundation
import Hummingbird
import NIOCore

/// A JSON request body as hammer accepts it: wrapped (`{"topic": {...}}`) or flat (`{...}`).
struct RequestBody {
    let fields: [String: JSONValue]

    /// Reads at most `limit` bytes (413 beyond) and unwraps the object under `wrapper` when present; an empty body is
    /// `{}` when `emptyAllowed` (an operation whose fields are all optional).
    static func read(_ request: Request, limit: Int, wrapper: String, emptyAllowed: Bool = false) async throws -> RequestBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HammerError.payloadTooLarge(limit: limit)
        }
        if emptyAllowed, buffer.readableBytes == 0 { return RequestBody(fields: [:]) }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer))
        } catch {
            let message = buffer.readableBytes == 0 ? "request body is empty; send a JSON object" : "request body is not valid JSON"
            throw HammerError(.invalidArgument, "invalid_json", message)
        }
        guard case .object(var object) = value else {
            throw HammerError(.invalidArgument, "invalid_json", "request body must be a JSON object, got \(value.typeName)")
        }
        switch object[wrapper] {
        case .object(let inner)?: object = inner
        case nil: break
        case let other?: throw HammerError(.invalidArgument, "invalid_json", "\"\(wrapper)\" must be an object, got \(other.typeName)")
        }
        return RequestBody(fields: object)
    }
}

extension RequestBody {
    /// The body without `field`: an update's id is its path's, and one in the body is ignored.
    func without(_ field: String) -> RequestBody {
        var fields = fields
        fields[field] = nil
        return RequestBody(fields: fields)
    }
}

/// Reads typed fields from a body, collecting one `FieldError` per value of the wrong type in the order asked; the
/// operations check the rest.
struct FieldReader {
    let fields: [String: JSONValue]
    private(set) var errors: [HammerError.FieldError] = []

    init(_ body: RequestBody) { self.fields = body.fields }

    init(fields: [String: JSONValue]) { self.fields = fields }

    /// A string field; `nil` when absent or null. Records an error for other types.
    mutating func string(_ name: String) -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?:
            fail(name, "must be a string, got \(other.typeName)")
            return nil
        }
    }

    /// An integer field; `nil` when absent or null. Records an error for other types.
    mutating func integer(_ name: String) -> Int? {
        switch fields[name] {
        case nil, .null?: return nil
        case .integer(let value)?: return Int(value)
        case .number(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        case let other?:
            fail(name, "must be an integer, got \(other.typeName == "number" ? "a number out of range or with a fraction" : other.typeName)")
            return nil
        }
    }

    /// A boolean field; `nil` when absent or null. Records an error for other types.
    mutating func bool(_ name: String) -> Bool? {
        switch fields[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?:
            fail(name, "must be true or false, got \(other.typeName)")
            return nil
        }
    }

    /// Whether the body has the field at all, `null` included.
    func has(_ name: String) -> Bool { fields[name] != nil }

    /// A field that can be reset: `nil` when absent, `.some(nil)` when null (or of the wrong type, with an error),
    /// else what `read` reads.
    mutating func resettable<Value>(_ name: String, _ read: (inout FieldReader, String) -> Value?) -> Value?? {
        guard has(name) else { return nil }
        return .some(read(&self, name))
    }

    /// An object field; `nil` when absent or null. Records an error for other types.
    mutating func object(_ name: String) -> [String: JSONValue]? {
        switch fields[name] {
        case nil, .null?: return nil
        case .object(let value)?: return value
        case let other?:
            fail(name, "must be an object, got \(other.typeName)")
            return nil
        }
    }

    /// An object of strings (`{"X-Team": "billing"}`); `nil` when absent or null. Records an error per non-string value.
    mutating func stringMap(_ name: String) -> [String: String]? {
        guard let object = object(name) else { return nil }
        var map: [String: String] = [:]
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard case .string(let string) = value else {
                fail("\(name).\(key)", "must be a string, got \(value.typeName)")
                continue
            }
            map[key] = string
        }
        return map
    }

    /// An array of strings; `nil` when absent or null. Records an error for other types, per item (`name[2]`).
    mutating func stringArray(_ name: String) -> [String]? {
        switch fields[name] {
        case nil, .null?: return nil
        case .array(let items)?:
            var strings: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let string) = item else {
                    fail("\(name)[\(index)]", "must be a string, got \(item.typeName)")
                    continue
                }
                strings.append(string)
            }
            return strings
        case let other?:
            fail(name, "must be an array of strings, got \(other.typeName)")
            return nil
        }
    }

    mutating func fail(_ field: String, _ description: String) {
        errors.append(.init(field, description))
    }

    func hasError(_ field: String) -> Bool { errors.contains { $0.field == field } }
}
