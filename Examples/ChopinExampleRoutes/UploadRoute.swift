import Chopin
import ChopinJSON
import Crypto

/// `POST /upload`'s answer: how many bytes came and their SHA-256 (hex).
@JSON public struct UploadDigest: Sendable, Equatable {
    public let bytes: Int
    public let sha256: String

    public init(bytes: Int, sha256: String) {
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// `POST /upload`: the body read as a stream, hashed chunk by chunk as it
/// arrives, never held whole: an upload of any size up to
/// `Configuration.maxStreamedBodyBytes` costs the memory of a few chunks.
func addUploadRoute(to router: Router) {
    router.post("/upload") { (_: Request, body: RequestBodyStream) async throws -> Response in
        var hasher = SHA256()
        var bytes = 0
        for try await chunk in body {
            hasher.update(data: chunk)
            bytes += chunk.count
        }
        let hex = hasher.finalize().map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
        return .json(UploadDigest(bytes: bytes, sha256: hex))
    }
}
