import Foundation
import Hummingbird
import NIOCore

/// A JSON request body as hammer accepts it: wrapped (`{"topic": {...}}`) or flat (`{...}`).
struct RequestBody {
    let fields: [String: JSONValue]

    /// Reads at most `limit` bytes (413 beyond) and unwraps the object under `wrapper` when present.
    static func read(_ request: Request, limit: Int, wrapper: String) async throws -> RequestBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HammerError.payloadTooLarge(limit: limit)
        }
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

/// Reads typed fields from a body, collecting one `FieldError` per bad field in the order asked.
struct FieldReader {
    let fields: [String: JSONValue]
    private(set) var errors: [HammerError.FieldError] = []

    init(_ body: RequestBody) { self.fields = body.fields }

    /// A string field; `nil` when absent or null. Records an error for other types, and for NUL characters
    /// unless `allowingNUL` (message data is stored base64-encoded, so any character is fine there).
    mutating func string(_ name: String, allowingNUL: Bool = false) -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let value)?:
            // PostgreSQL text cannot hold NUL.
            if !allowingNUL, value.utf8.contains(0) {
                fail(name, "must not contain NUL characters")
                return nil
            }
            return value
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

    mutating func fail(_ field: String, _ description: String) {
        errors.append(.init(field, description))
    }

    func hasError(_ field: String) -> Bool { errors.contains { $0.field == field } }

    /// Throws `invalid_<resource>` with every recorded error, if any.
    func check(_ resource: String) throws {
        if !errors.isEmpty { throw HammerError.invalid(resource, errors) }
    }
}
