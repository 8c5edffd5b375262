import Chopin
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// One registered operation: its template and the generated handler.
struct Operation: Sendable {
    let template: PathTemplate
    let handler: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
}

/// The operations that share one route of the router (one method, one
/// router pattern): `/files/{name}.zip` and `/files/{name}.tar` do.
final class Operations: Sendable {
    /// The most specific template first.
    private let list: Mutex<[Operation]>

    /// Whether the one operation's template is text only (set at registration).
    private let literalOnly: Bool

    init(_ first: Operation) {
        list = Mutex([first])
        literalOnly = first.template.isLiteral
    }

    func add(_ operation: Operation) {
        list.withLock { list in
            list.append(operation)
            list.sort { $0.template.specificity > $1.template.specificity }
        }
    }

    /// Runs the operation whose template fits the request's path.
    /// `body`: the request's body as a stream; nil when it was read whole (`request.body`).
    nonisolated(nonsending) func answer(_ request: Request, _ body: RequestBodyStream?) async throws -> Response {
        let operations = list.withLock { $0 }
        // One template of text only: the router matched it, nothing to read.
        if operations.count == 1 && literalOnly { return try await run(operations[0], [:], request, body) }
        // A group's prefix is before the template's segments: match the path's last ones.
        let path = request.path
        let count = operations[0].template.segments.count
        let bytes = path.utf8
        var start = bytes.endIndex
        var seen = 0
        while start > bytes.startIndex && seen < count {
            start = bytes.index(before: start)
            if bytes[start] == UInt8(ascii: "/") { seen += 1 }
        }
        let tail = path[start...]
        for operation in operations {
            guard let parameters = operation.template.match(tail) else { continue }
            return try await run(operation, parameters, request, body)
        }
        throw HTTPError(.notFound)
    }

    nonisolated(nonsending) private func run(
        _ operation: Operation, _ parameters: [String: Substring], _ request: Request, _ body: RequestBodyStream?
    ) async throws -> Response {
        let query = request.query
        let head = HTTPRequest(
            method: request.httpMethod, scheme: nil, authority: request.header("Host"),
            path: query.isEmpty ? request.path : request.path + "?" + query, headerFields: Self.fields(of: request))
        // No body (nil) unless the request has one: bytes, or a chunked
        // body; an empty one counts when it says its type (Content-Length: 0
        // with a Content-Type is an empty document; alone, as HTTP clients
        // send it with every POST, it is no body).
        // (The parser's framing says most of it: a head that declares a
        // length of 0 has no framing, and only then are headers looked up.)
        let framing = request.declaredBody
        var declared = framing.length.map { Int64(clamping: $0) }
        if declared == nil && !framing.chunked && request.header("Content-Type") != nil {
            declared = request.header("Content-Length").flatMap { Int64($0) }
        }
        let hasBody = (declared ?? 0) > 0 || framing.chunked || declared == 0
        var requestBody: HTTPBody?
        if hasBody {
            if let body {
                requestBody = HTTPBody(body, length: declared.map { .known($0) } ?? .unknown, iterationBehavior: .single)
            } else {
                requestBody = HTTPBody(Array(request.body))
            }
        }
        do {
            let (response, responseBody) = try await CurrentRequest.$value.withValue(request) {
                try await operation.handler(head, requestBody, ServerRequestMetadata(pathParameters: parameters))
            }
            return try await Self.response(response, responseBody)
        } catch let error as ServerError where error.underlyingError is HTTPError || error.underlyingError is ExtractionError {
            // The operation threw Chopin's own error answer: answered as from any handler.
            throw error.underlyingError
        } catch let error as any HTTPResponseConvertible where error.httpStatus.code < 500 {
            // The client's mistake (a body or parameter the operation cannot
            // decode): its status, through the router's error answers.
            let message = (error as? ServerError)?.causeDescription ?? ""
            throw HTTPError(
                HTTPStatus(error.httpStatus), message,
                headers: error.httpHeaderFields.map { ($0.name.rawName, $0.value) })
        }
    }

    /// The request's header fields for the runtime, less its Host, which is
    /// the request's authority: swift-nio-extras' HTTP/1 conversion (which
    /// Hummingbird's transport uses) does the same. A request with no other
    /// header (as most GETs) makes no HTTPFields storage at all. (A loop of
    /// its own, not Chopin's `HTTPFields(pairs:)` over a lazy filter: from
    /// this module that measured about 1,000 instructions a request more.)
    static func fields(of request: Request) -> HTTPFields {
        let headers = request.headers
        var fields = HTTPFields()
        for i in headers.indices {
            if headers.withBytes(at: i, { name, _ in isHost(name) }) { continue }
            let (name, value) = headers[i]
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    /// Whether a header name is Host, in any case.
    private static func isHost(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count == 4 && zip(name, "host".utf8).allSatisfy { $0 | 0x20 == $1 }
    }

    /// Bodies up to this size, when their length is known, are written at
    /// once (with a Content-Length); longer or unknown ones are streamed.
    static let writtenWhole: Int64 = 64 * 1024

    nonisolated(nonsending) static func response(_ head: HTTPResponse, _ body: HTTPBody?) async throws -> Response {
        // One pass over the fields: the Content-Type apart and the framing
        // left out (Chopin writes both), the others kept in order. Not
        // HTTPFields' subscripts: its getter joins every value of a name and
        // its setter rebuilds the list, which cost more than the rest of
        // the conversion (about 5,500 instructions a request).
        var contentType: String?
        var headers: [(name: String, value: String)] = []
        for field in head.headerFields {
            switch field.name {
            case .contentType: if contentType == nil { contentType = field.value }
            case .contentLength, .transferEncoding: continue
            default: headers.append((field.name.rawName, field.value))
            }
        }
        let status = HTTPStatus(head.status)
        var response: Response
        if let body {
            let type = contentType ?? "application/octet-stream"
            if case .known(let length) = body.length, length <= writtenWhole {
                let bytes = try await [UInt8](collecting: body, upTo: Int(length))
                response = Response.bytes(bytes, contentType: type, status: status)
            } else {
                response = Response.stream(contentType: type, status: status) { out in
                    for try await chunk in body { try await out.write(Array(chunk)) }
                }
            }
        } else {
            response = Response(status: status)
        }
        response.headers = headers
        return response
    }
}
