internal import CChopinCore

/// How the last rolling restart of a server with worker processes went
/// (``Server/rollingRestart``, ``RunningServer/rollingRestart``, and the
/// readiness route's body, which names the worker but not the reason).
///
/// SIGHUP to the supervisor replaces the workers one at a time from the
/// executable now on disk. A replacement that exits, dies, or does not
/// serve within ``Configuration/workerStartTimeoutMilliseconds`` fails the
/// roll: it is stopped, the worker it was to replace keeps serving, no
/// later worker is touched, and ``failureReason`` says why. Fix the cause
/// and send SIGHUP again: the next roll starts from the first worker.
public struct RollingRestartStatus: Sendable, Equatable {
    /// Where the last roll stands.
    public enum State: Sendable, Equatable {
        /// No roll since the server started (and always with worker threads).
        case none
        /// A roll is replacing workers now.
        case inProgress
        /// Every worker was replaced.
        case succeeded
        /// A replacement never served; see ``RollingRestartStatus/failureReason``.
        case failed
    }

    /// Where the last roll stands.
    public let state: State
    /// Workers the last roll replaced (all of them when it succeeded).
    public let workersReplaced: Int
    /// Rolls that failed since the server started.
    public let failedRolls: Int
    /// Why the last roll failed: the worker, its replacement's exit status
    /// or signal, and its last "Fatal error" line. nil unless it failed.
    public let failureReason: String?

    init(_ s: chopin_roll_status) {
        switch Int32(s.state) {
        case Int32(CHOPIN_ROLL_RUNNING): state = .inProgress
        case Int32(CHOPIN_ROLL_SUCCEEDED): state = .succeeded
        case Int32(CHOPIN_ROLL_FAILED): state = .failed
        default: state = .none
        }
        workersReplaced = Int(s.replaced)
        failedRolls = Int(s.failed_rolls)
        let reason = withUnsafeBytes(of: s.reason) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        failureReason = state == .failed ? reason : nil
    }

    /// The status of `server`'s last roll.
    static func read(_ server: OpaquePointer) -> RollingRestartStatus {
        var s = chopin_roll_status()
        chopin_server_roll_status(server, &s)
        return RollingRestartStatus(s)
    }
}
