internal import CChopinCore
internal import Logging
import Synchronization

/// Where Chopin's own lines go: the `Logger` of the server started last
/// (``Server/logger``), or `Logger(label: "chopin")` before any started.
/// One per process because the C core's log hook is one per process; the
/// lines are rare (startup, errors), so a lock costs nothing that matters.
enum ChopinLog {
    private static let current = Mutex<Logger?>(nil)

    static var logger: Logger {
        current.withLock { installed in
            if let installed { return installed }
            let fallback = Logger(label: "chopin")
            installed = fallback
            return fallback
        }
    }

    /// Makes `logger` receive Chopin's lines, the C core's included.
    static func install(_ logger: Logger) {
        current.withLock { $0 = logger }
        chopin_set_log_handler(coreLine, nil)
    }
}

/// The C core's lines ("chopin: worker 2: cannot ...", "chopin: listening
/// on ..."): the prefix goes, a worker number becomes metadata, and the
/// startup, stop, drain and reload lines are notices while everything else
/// is an error.
private let coreLine: chopin_log_fn = { _, line, count in
    guard let line else { return }
    let bytes = UnsafeRawBufferPointer(start: line, count: count)
    var text = Substring(String(decoding: bytes, as: UTF8.self))
    if text.hasPrefix("chopin: ") { text = text.dropFirst(8) }
    var metadata: Logger.Metadata = [:]
    if text.hasPrefix("worker "), let colon = text.firstIndex(of: ":"),
        let worker = UInt32(text[text.index(text.startIndex, offsetBy: 7)..<colon])
    {
        metadata["worker"] = "\(worker)"
        text = text[text.index(after: colon)...].drop { $0 == " " }
    }
    // Starting, stopping, draining, reloads that went as asked: notices. A
    // failed roll, a death, a refusal: errors.
    let routine =
        text.hasPrefix("listening on") || text.contains("stopping gracefully") || text.hasPrefix("draining for")
        || text.hasPrefix("SIGHUP") || text.hasPrefix("rolling restart done") || text.hasPrefix("TLS certificate reloaded")
    ChopinLog.logger.log(level: routine ? .notice : .error, "\(text)", metadata: metadata)
}

/// One error line through the installed logger.
func logError(_ message: String, metadata: Logger.Metadata? = nil) {
    ChopinLog.logger.error("\(message)", metadata: metadata)
}

/// The same, for code that does not import Logging.
func logError(_ message: String, metadata: [String: String]) {
    logError(message, metadata: metadata.mapValues { .string($0) })
}
