public import HTTPTypes
internal import CChopinCore

extension Request {
    /// Every header as swift-http-types fields, in the order sent. Builds
    /// them on each call (Strings and an array): where no allocation
    /// matters, iterate ``headers`` or call ``header(_:)`` instead.
    public var headerFields: HTTPFields { HTTPFields(pairs: headers) }

    /// The method as swift-http-types' type.
    public var httpMethod: HTTPRequest.Method {
        // The common methods without a String to build and check; the
        // parser accepts only token methods, which HTTPRequest.Method takes.
        if let i = Method.index(of: head.pointee.method) { return Self.commonHTTPMethods[i] }
        return HTTPRequest.Method(method) ?? HTTPRequest.Method.get
    }

    /// ``Method/tableOrder``'s methods as swift-http-types' type, in its order.
    private static let commonHTTPMethods: [HTTPRequest.Method] = Method.tableOrder.map {
        HTTPRequest.Method($0) ?? HTTPRequest.Method.get
    }

    /// The body's framing as the head declared it: its Content-Length, or
    /// that it is chunked; neither for a request with no body. For
    /// ChopinOpenAPI, which tells swift-openapi-runtime whether there is a
    /// body and how long, without looking the headers up again.
    package var declaredBody: (length: UInt64?, chunked: Bool) {
        switch head.pointee.framing {
        case CHOPIN_FRAMING_LENGTH: (head.pointee.content_length, false)
        case CHOPIN_FRAMING_CHUNKED: (nil, true)
        default: (nil, false)
        }
    }

    /// Serializes value as JSON straight into the response, with a
    /// swift-http-types status (see `json(_:status:)`).
    @_disfavoredOverload
    public func json<T: Encodable>(_ value: T, status: HTTPResponse.Status) -> Response {
        json(value, status: HTTPStatus(status))
    }
}
