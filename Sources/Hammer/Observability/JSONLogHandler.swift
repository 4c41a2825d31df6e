import Foundation
import Logging

/// A `LogHandler` writing one JSON object per line to stderr: time, level, message, label, metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "{\"time\":\"\(Timestamp.format(Date()))\",\"level\":\"\(event.level.rawValue)\",\"message\":"
        line += JSONText.quoted(event.message.description)
        line += ",\"logger\":"
        line += JSONText.quoted(label)
        for key in merged.keys.sorted() {
            line += ","
            line += JSONText.quoted(key)
            line += ":"
            line += JSONText.quoted(merged[key]!.description)
        }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

extension LoggingSystem {
    /// Installs hammer's log format and level for the whole process.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .json: JSONLogHandler(label: label)
                case .text: StreamLogHandler.standardError(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}
