internal import CChopinCore

/// What went wrong with a request, for the router's error renderer
/// (``Router/renderErrors(_:)``) to turn into the answer the client gets.
///
/// Every error answer passes through it: the router's own 404, 405 and
/// 501, an extractor's 400, 415 or 422, an ``HTTPError`` or any other error
/// a handler or middleware throws (500, logged with its route). The
/// report's ``headers`` are added to whatever the renderer returns, and
/// the route's middleware then sees the answer like any other.
public struct ErrorReport: Sendable {
    /// The status the answer has.
    public var status: HTTPStatus
    /// What is wrong, for the client; the status's reason phrase ("not
    /// found") when the error said nothing. "internal server error" for
    /// an error that is not an ``HTTPError`` or ``ExtractionError``: its own
    /// text is for the log, not for the client.
    public var message: String
    /// The field, parameter or header at fault, when an extractor names one.
    public var field: String?
    /// Headers the answer must carry (an ``HTTPError``'s, the 405's `Allow`).
    public var headers: [(name: String, value: String)]
    /// The error that was thrown.
    public var error: any Error

    /// The report of `error`: an ``ExtractionError`` or ``HTTPError`` keeps
    /// its status, a `CancellationError` (the handler deadline) is a 503,
    /// anything else is a 500.
    public init(_ error: any Error) {
        self.error = error
        switch error {
        case let e as ExtractionError:
            (status, field, headers) = (e.status, e.field, [])
            message = e.message
        case let e as HTTPError:
            (status, field, headers) = (e.status, nil, e.headers)
            message = e.message
        case is CancellationError:
            // The handler deadline, the shutdown's, or a client that left
            // (whose answer is then dropped).
            (status, field, headers) = (.serviceUnavailable, nil, [])
            message = "the handler did not answer in time"
        default:
            (status, field, headers) = (.internalServerError, nil, [])
            message = "internal server error"
        }
        if message.isEmpty { message = Self.reason(status) }
    }

    /// "not found" for 404: the reason phrase, in lower case.
    static func reason(_ status: HTTPStatus) -> String {
        guard let phrase = chopin_status_reason(Int32(clamping: status.code)) else { return "error" }
        let text = String(cString: phrase).lowercased()
        return text.isEmpty ? "error \(status.code)" : text
    }

    /// The answer Chopin gives unless the router renders errors itself:
    /// `{"error": message, "field": field}` as `application/json`.
    public static func defaultAnswer(_ report: ErrorReport, _ request: Request) -> Response {
        .json(DefaultBody(error: report.message, field: report.field), status: report.status)
    }

    private struct DefaultBody: Encodable {
        let error: String
        let field: String?
    }
}

/// Turns an ``ErrorReport`` into an answer: see ``Router/renderErrors(_:)``.
public typealias ErrorRenderer = @Sendable (ErrorReport, Request) -> Response

/// How a frozen router answers errors: its renderer, and the log line of
/// an error that is not an HTTP answer.
struct ErrorAnswers: Sendable {
    let renderer: ErrorRenderer

    /// The answer to `error`, thrown while `request` was handled.
    @inline(never)  // the error path, kept out of every caller's hot code
    func answer(_ error: any Error, _ request: Request) -> Response {
        let report = ErrorReport(error)
        ThrownErrors.observer?(error)
        if !(error is HTTPError || error is ExtractionError || error is CancellationError) {
            logError(
                "handler threw \(error)",
                metadata: [
                    "method": "\(request.method)", "route": request.route, "status": "500",
                    "worker": "\(request.writer.workerID)",
                ])
        }
        var response = renderer(report, request)
        if !report.headers.isEmpty { response.headers += report.headers }
        return response
    }
}
