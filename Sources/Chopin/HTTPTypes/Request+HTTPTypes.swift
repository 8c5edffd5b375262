public import HTTPTypes

extension Request {
    /// Every header as swift-http-types fields, in the order sent. Builds
    /// them on each call (Strings and an array): where no allocation
    /// matters, iterate ``headers`` or call ``header(_:)`` instead.
    public var headerFields: HTTPFields { HTTPFields(pairs: headers) }

    /// The method as swift-http-types' type.
    public var httpMethod: HTTPRequest.Method {
        // The parser accepts only token methods, which HTTPRequest.Method takes.
        HTTPRequest.Method(method) ?? HTTPRequest.Method.get
    }

    /// Serializes value as JSON straight into the response, with a
    /// swift-http-types status (see `json(_:status:)`).
    @_disfavoredOverload
    public func json<T: Encodable>(_ value: T, status: HTTPResponse.Status) -> Response {
        json(value, status: HTTPStatus(status))
    }
}
