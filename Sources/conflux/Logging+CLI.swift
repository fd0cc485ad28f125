import Foundation
import Logging

/// Logs go to standard error so standard output stays machine-readable (the JSON line of `sandbox check`).
enum CLILogging {
    static let bootstrap: Void = {
        LoggingSystem.bootstrap { label in
            var handler = LazyMetadataLogHandler(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["CONFLUX_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
    }()

    static func logger(_ label: String) -> Logger {
        _ = bootstrap
        return Logger(label: label)
    }
}

/// swift-log's StreamLogHandler, minus one cost: it formats its metadata again each time a key is set, and
/// Hummingbird sets its request id on the server's logger for every request, logged or not (about 2% of the
/// loopback sink's CPU in `conflux bench http`'s profile). This handler keeps the metadata as it is and formats it
/// only for a line actually written; the line itself is StreamLogHandler's, byte for byte.
struct LazyMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        stream = StreamLogHandler.standardError(label: label, metadataProvider: nil)
        metadataProvider = LoggingSystem.metadataProvider
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // The precedence StreamLogHandler applies: the logger's metadata, then the provider's, then the line's own.
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        var event = event
        event.metadata = merged
        stream.log(event: event)
    }
}
