/// A JSON text parsed strictly (RFC 8259) whose values keep their place in the text, so a value taken out of it
/// is written back exactly as it was published (numbers keep their digits, objects their layout).
public struct JSONDocument: Sendable {
    public enum Value: Sendable {
        case object([(key: String, value: Node)])
        case array([Node])
        case string(String)
        /// A number, `true`, `false` or `null`: its text is its value.
        case literal
    }

    public struct Node: Sendable {
        public var value: Value
        /// Where the value is in the document's bytes.
        public var range: Range<Int>
    }

    /// Nesting deeper than this is refused, so a hostile document cannot exhaust the stack.
    static let maxDepth = 256

    let bytes: [UInt8]
    public let root: Node

    /// Parses `bytes`; `nil` unless they hold exactly one JSON value (whitespace around it allowed).
    public init?(_ bytes: [UInt8]) {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        guard let root = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { return nil }
        self.bytes = bytes
        self.root = root
    }

    public init?(_ text: String) { self.init(Array(text.utf8)) }

    /// The value's text as it stands in the document.
    public func text(of node: Node) -> String {
        String(decoding: bytes[node.range], as: UTF8.self)
    }

    /// The value at `path` from the root: object keys, or array indexes (`"0"`) into arrays; `nil` when absent.
    public func node(at path: some Sequence<String>) -> Node? {
        var node = root
        for component in path {
            switch node.value {
            case .object(let members):
                // The last of duplicate keys wins, as in most parsers.
                guard let member = members.last(where: { $0.key == component }) else { return nil }
                node = member.value
            case .array(let items):
                guard let index = Int(component), String(index) == component, items.indices.contains(index) else { return nil }
                node = items[index]
            case .string, .literal:
                return nil
            }
        }
        return node
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) -> Node? {
            guard depth < JSONDocument.maxDepth, index < bytes.count else { return nil }
            let start = index
            let value: Value
            switch bytes[index] {
            case UInt8(ascii: "{"):
                guard let members = object(depth: depth) else { return nil }
                value = .object(members)
            case UInt8(ascii: "["):
                guard let items = array(depth: depth) else { return nil }
                value = .array(items)
            case UInt8(ascii: "\""):
                guard let string = string() else { return nil }
                value = .string(string)
            case UInt8(ascii: "t"):
                guard word("true") else { return nil }
                value = .literal
            case UInt8(ascii: "f"):
                guard word("false") else { return nil }
                value = .literal
            case UInt8(ascii: "n"):
                guard word("null") else { return nil }
                value = .literal
            default:
                guard number() else { return nil }
                value = .literal
            }
            return Node(value: value, range: start..<index)
        }

        private mutating func object(depth: Int) -> [(key: String, value: Node)]? {
            index += 1
            var members: [(key: String, value: Node)] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return members
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipWhitespace()
                guard let value = value(depth: depth + 1) else { return nil }
                members.append((key, value))
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return members
                } else {
                    return nil
                }
            }
        }

        private mutating func array(depth: Int) -> [Node]? {
            index += 1
            var items: [Node] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return items
            }
            while true {
                skipWhitespace()
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return items
                } else {
                    return nil
                }
            }
        }

        private mutating func string() -> String? {
            index += 1
            var scalars = String.UnicodeScalarView()
            var runStart = index
            func flushRun() {
                if runStart < index { scalars.append(contentsOf: String(decoding: bytes[runStart..<index], as: UTF8.self).unicodeScalars) }
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    flushRun()
                    index += 1
                    return String(scalars)
                }
                if byte < 0x20 { return nil }
                if byte != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                flushRun()
                index += 1
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    guard let unit = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(unit), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let save = index
                        index += 2
                        if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                            scalars.append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!)
                        } else {
                            index = save
                            scalars.append("\u{FFFD}")
                        }
                    } else {
                        // A lone surrogate is valid JSON but not a character.
                        scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                    }
                default: return nil
                }
                runStart = index
            }
            return nil
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        private mutating func word(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            let matches = word.withUTF8Buffer { expected in bytes[index..<index + count].elementsEqual(expected) }
            if matches { index += count }
            return matches
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        private mutating func number() -> Bool {
            func isDigit(_ at: Int) -> Bool { at < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { return false }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard isDigit(index) else { return false }
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard isDigit(index) else { return false }
                while isDigit(index) { index += 1 }
            }
            return true
        }
    }
}
