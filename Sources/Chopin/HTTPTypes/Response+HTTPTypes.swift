public import HTTPTypes

// Responses built with swift-http-types' status and fields. Each overload is
// `@_disfavoredOverload` so that `.created`, which both status types have,
// keeps meaning Chopin's ``HTTPStatus``.
extension Response {
    /// An empty response with a swift-http-types status and header fields.
    ///
    /// ```swift
    /// Response(status: .noContent, headerFields: [.cacheControl: "no-store"])
    /// ```
    @_disfavoredOverload
    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:]) {
        self.init(status: HTTPStatus(status))
        self.headerFields = headerFields
    }

    /// A text/plain response with a swift-http-types status.
    @_disfavoredOverload
    public static func text(_ text: String, status: HTTPResponse.Status) -> Response {
        .text(text, status: HTTPStatus(status))
    }

    /// Raw bytes with a content type and a swift-http-types status.
    @_disfavoredOverload
    public static func bytes(
        _ bytes: [UInt8], contentType: String = "application/octet-stream", status: HTTPResponse.Status
    ) -> Response {
        .bytes(bytes, contentType: contentType, status: HTTPStatus(status))
    }

    /// `value` as JSON with a swift-http-types status (see `Response.json(_:status:)`).
    @_disfavoredOverload
    public static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status) -> Response {
        .json(value, status: HTTPStatus(status))
    }

    /// The extra headers (``headers``) as swift-http-types fields. Setting
    /// it replaces them.
    public var headerFields: HTTPFields {
        get { HTTPFields(pairs: headers) }
        set { headers = newValue.map { ($0.name.rawName, $0.value) } }
    }

    /// Adds every field and returns the response, for chaining.
    ///
    /// ```swift
    /// .text("hi").headerFields([.cacheControl: "no-store", .vary: "Accept"])
    /// ```
    public func headerFields(_ fields: HTTPFields) -> Response {
        var copy = self
        copy.headers.append(contentsOf: fields.map { ($0.name.rawName, $0.value) })
        return copy
    }
}

extension HTTPFields {
    /// Fields from name/value pairs; a pair whose name is not a token is
    /// left out (a parsed request never has one).
    init(pairs: some Sequence<(name: String, value: String)>) {
        self.init()
        for (name, value) in pairs {
            if let fieldName = HTTPField.Name(name) { append(HTTPField(name: fieldName, value: value)) }
        }
    }
}
