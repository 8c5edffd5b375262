/// Why an extractor refused a request: answered with `status` through the
/// router's error answers (``ErrorReport``), which name the `field`.
public struct ExtractionError: Error, Sendable, CustomStringConvertible {
    /// 400, 415 or 422 (or your extractor's own).
    public let status: HTTPStatus
    /// What is wrong, sent as `"error"`.
    public let message: String
    /// The field, parameter or header at fault, sent as `"field"`.
    public let field: String?

    /// An extraction failure answered with `status`.
    public init(_ status: HTTPStatus, _ message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = field
    }

    /// "422 message (field)", for logs.
    public var description: String { "\(status.code) \(message)" + (field.map { " (\($0))" } ?? "") }
}
