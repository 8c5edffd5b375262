internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// HTTPS: the certificate chain and private key a server shows, and
/// whether it asks clients for certificates of their own.
///
/// TLS runs in Chopin's C core (OpenSSL 3), on every worker, under every
/// isolation mode; above it nothing changes: the same routes, middleware,
/// streams, files and WebSockets. The protocol settings are fixed and
/// secure: TLS 1.2 or 1.3, forward-secret AEAD cipher suites, no
/// renegotiation or compression, ALPN `http/1.1`, session tickets whose keys
/// rotate every hour.
///
/// ```swift
/// let tls = TLSConfiguration(
///     certificateChain: .file("/etc/chopin/fullchain.pem"),
///     privateKey: .file("/etc/chopin/privkey.pem"))
/// try Server.bind("0.0.0.0:8443", tls: tls).serve(router)
/// ```
///
/// Certificates given as files are read again on a reload (SIGHUP, or
/// ``RunningServer/reloadTLS(_:)``): new connections get the new
/// certificate while established ones keep theirs.
public struct TLSConfiguration: Sendable, Equatable {
    /// Where a certificate chain or a key comes from.
    public enum Source: Sendable, Equatable {
        /// A PEM file, read at start and again at each reload.
        case file(String)
        /// PEM text.
        case pem(String)
    }

    /// Whether clients must show a certificate (mutual TLS).
    public enum ClientCertificates: Sendable, Equatable {
        /// None asked for: the usual public HTTPS server.
        case none
        /// Asked for; a client may go without, but one it shows must chain
        /// to a certificate in the PEM file `trustRoots`.
        case optional(trustRoots: String)
        /// The handshake fails without a certificate that chains to one in
        /// the PEM file `trustRoots`.
        case required(trustRoots: String)
    }

    /// The server's certificate first, then its intermediates (a
    /// "fullchain.pem").
    public var certificateChain: Source
    /// The certificate's private key (RSA, EC or Ed25519), unencrypted PEM.
    public var privateKey: Source
    /// Client certificates; ``ClientCertificates/none`` unless set.
    public var clientCertificates: ClientCertificates = .none
    /// How long a client has from its connection to the handshake's end
    /// (10 seconds unless set); a client that stalls is cut at it.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Handshakes a worker has in progress at once (256 unless set): past
    /// it, new connections wait in the listener's queue until one ends, so
    /// that a flood of handshakes cannot starve established connections.
    public var maxHandshakesPerWorker: UInt32 = 256
    /// Whether the kernel seals each connection's records once its
    /// handshake is done (kTLS), where the kernel offers it (the `tls`
    /// module; true unless set). Responses then leave as plain sends and
    /// files by `sendfile`, without a copy through the worker; the startup
    /// line says which is used. False keeps every record in OpenSSL.
    public var kernelTLS: Bool = true

    /// A configuration that shows `certificateChain` and proves it with `privateKey`.
    public init(certificateChain: Source, privateKey: Source) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// The timeout in whole milliseconds, or nil when it does not fit the core's.
    var handshakeTimeoutMilliseconds: UInt32? {
        let (seconds, attoseconds) = handshakeTimeout.components
        guard seconds >= 0, attoseconds >= 0 else { return nil }
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        let total = ms.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !ms.overflow, !total.overflow, total.partialValue >= 1, total.partialValue <= Int64(UInt32.max) else {
            return nil
        }
        return UInt32(total.partialValue)
    }

    /// Calls `body` with the C view of this configuration (valid during the call).
    func withOptions<T>(_ body: (UnsafePointer<chopin_tls_options>) -> T) -> T {
        var options = chopin_tls_options()
        options.kernel = kernelTLS ? CHOPIN_TLS_KERNEL_AUTO : CHOPIN_TLS_KERNEL_OFF
        let roots: String?
        switch clientCertificates {
        case .none:
            options.client_auth = CHOPIN_TLS_CLIENT_NONE
            roots = nil
        case .optional(let file):
            options.client_auth = CHOPIN_TLS_CLIENT_OPTIONAL
            roots = file
        case .required(let file):
            options.client_auth = CHOPIN_TLS_CLIENT_REQUIRED
            roots = file
        }
        return Self.withSource(certificateChain) { chainFile, chainPEM, chainLength in
            Self.withSource(privateKey) { keyFile, keyPEM, keyLength in
                Self.withOptionalCString(roots) { rootsFile in
                    options.cert_file = chainFile
                    options.cert_pem = chainPEM
                    options.cert_pem_len = chainLength
                    options.key_file = keyFile
                    options.key_pem = keyPEM
                    options.key_pem_len = keyLength
                    options.client_ca_file = rootsFile
                    return body(&options)
                }
            }
        }
    }

    private static func withSource<T>(
        _ source: Source, _ body: (UnsafePointer<CChar>?, UnsafeRawPointer?, Int) -> T
    ) -> T {
        switch source {
        case .file(let path): return path.withCString { body($0, nil, 0) }
        case .pem(let text):
            var text = text
            return text.withUTF8 { bytes in body(nil, UnsafeRawPointer(bytes.baseAddress), bytes.count) }
        }
    }

    private static func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }
}

/// A loaded TLS identity (the C core's `chopin_tls`): made when a server
/// starts, reloadable while it runs, freed with the last holder (the app,
/// which outlives every worker).
final class TLSIdentity: @unchecked Sendable {
    // chopin_tls is thread-safe: its reload and the workers' session starts
    // take its own locks.
    let pointer: OpaquePointer

    init(_ configuration: TLSConfiguration) throws(ConfigurationError) {
        var message = [CChar](repeating: 0, count: 512)
        let made = configuration.withOptions { chopin_tls_new($0, &message, message.count) }
        guard let made else { throw ConfigurationError(description: "TLS: " + Self.text(message)) }
        pointer = made
    }

    /// Loads `configuration`, or the same sources again; the old identity
    /// stays on failure.
    func reload(_ configuration: TLSConfiguration?) throws(ConfigurationError) {
        var message = [CChar](repeating: 0, count: 512)
        let rc: Int32
        if let configuration {
            rc = configuration.withOptions { chopin_tls_reload(pointer, $0, &message, message.count) }
        } else {
            rc = chopin_tls_reload(pointer, nil, &message, message.count)
        }
        if rc != 0 { throw ConfigurationError(description: "TLS: " + Self.text(message)) }
    }

    deinit { chopin_tls_free(pointer) }

    static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Router {
    /// A router that answers every request with `308 Permanent Redirect` to
    /// the same path and query over HTTPS: the plain-HTTP server beside an
    /// HTTPS one (port 80 beside 443). The host comes from the request's
    /// `Host` header, without its port; `httpsPort` is added unless it is
    /// 443. A request without a usable `Host` gets 400.
    ///
    /// ```swift
    /// let redirect = try Server.bind("0.0.0.0:80")
    ///     .configured { $0.isolation = .threads }
    ///     .start(.redirectingToHTTPS())
    /// ```
    public static func redirectingToHTTPS(port httpsPort: UInt16 = 443) -> Router {
        let router = Router()
        let handler: Handler = { request in
            guard let host = request.header("Host").flatMap(Self.hostWithoutPort) else {
                throw HTTPError(.badRequest, "a redirect to HTTPS needs the Host header")
            }
            var location = "https://" + host + (httpsPort == 443 ? "" : ":\(httpsPort)")
            location += "/" + request.path.drop { $0 == "/" }  // never "//elsewhere"
            if !request.query.isEmpty { location += "?" + request.query }
            return Response(status: HTTPStatus(308), headers: [("Location", location)])
        }
        router.any("/", handler)
        router.any("/*rest", handler)
        return router
    }

    /// The host part of a Host header ("example.com:8080", "[::1]:80"), or
    /// nil when it holds anything a host name or address literal cannot.
    static func hostWithoutPort(_ value: String) -> String? {
        var host = Substring(value)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            host = host[...close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x3A || byte == 0x5B || byte == 0x5D
        }
        return host.isEmpty || !allowed ? nil : String(host)
    }
}
