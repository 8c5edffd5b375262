internal import CChopinCore

/// What a request that went wrong is answered with, in one format
/// everywhere (the router's own 404, a handler's thrown error, an extractor
/// that refused the request): `{"error": message, "field": name}`.
///
/// An ``ExtractionError`` or ``HTTPError`` keeps its status; any other error
/// is a 500, logged with the route. An error thrown without a message says
/// its status's reason phrase ("not found"), so that a client never gets an
/// empty error body.
struct ErrorAnswer: Encodable {
    let status: HTTPStatus
    let error: String
    let field: String?

    init(_ status: HTTPStatus, _ message: String, field: String? = nil) {
        self.status = status
        self.error = message.isEmpty ? Self.reason(status) : message
        self.field = field
    }

    init(thrown error: any Error, method: Method, route: String, worker: UInt32? = nil) {
        switch error {
        case let e as ExtractionError:
            self.init(e.status, e.message, field: e.field)
        case let e as HTTPError:
            self.init(e.status, e.message)
        default:
            var metadata = ["method": "\(method)", "route": route, "status": "500"]
            if let worker { metadata["worker"] = "\(worker)" }
            logError("handler threw \(error)", metadata: metadata)
            self.init(.internalServerError, "internal server error")
        }
    }

    private enum CodingKeys: String, CodingKey { case error, field }

    /// "not found" for 404: the reason phrase, in lower case.
    private static func reason(_ status: HTTPStatus) -> String {
        guard let phrase = chopin_status_reason(Int32(clamping: status.code)) else { return "error" }
        let text = String(cString: phrase).lowercased()
        return text.isEmpty ? "error \(status.code)" : text
    }

    /// Written straight into the response (the server's own answers).
    func write(to res: ResponseWriter) {
        res.start(status)
        res.header("Content-Type", "application/json")
        var w = JSONWriter(response: res)
        try? w.open(object: true)
        w.key("error", in: 0)
        w.string(error)
        if let field {
            w.key("field", in: 0)
            w.string(field)
        }
        w.close(downTo: 0)
        w.finish()
        res.end()
    }

    /// As a value, for middleware to see and decorate.
    var response: Response { .json(self, status: status) }
}

/// Answers a handler's thrown error on its response (see ``ErrorAnswer``).
func answerThrown(_ error: any Error, _ response: ResponseWriter, method: Method, route: String) {
    ErrorAnswer(thrown: error, method: method, route: route, worker: response.workerID).write(to: response)
}
