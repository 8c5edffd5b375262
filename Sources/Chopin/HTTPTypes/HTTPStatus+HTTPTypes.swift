public import HTTPTypes

extension HTTPStatus {
    /// The same status, from swift-http-types' type (its reason phrase is
    /// not kept: Chopin writes the standard one).
    public init(_ status: HTTPResponse.Status) { self.init(status.code) }
}

extension HTTPResponse.Status {
    /// Chopin's status as swift-http-types' type (the code alone, with an
    /// empty reason phrase); nil for a code outside 100...999, which no
    /// response can carry.
    public init?(_ status: HTTPStatus) {
        guard (100...999).contains(status.code) else { return nil }
        self.init(code: status.code)
    }
}

extension HTTPError {
    /// An error answered with a swift-http-types status.
    @_disfavoredOverload
    public init(_ status: HTTPResponse.Status, _ message: String = "") {
        self.init(HTTPStatus(status), message)
    }
}
