internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#endif

extension RouteRegistrar {
    /// Serves the files under `directory` at `prefix`:
    /// `router.files("/assets", directory: "public")` answers
    /// `GET /assets/css/site.css` with `public/css/site.css`.
    ///
    /// - Content-Type from the extension, `ETag` and `Last-Modified`;
    ///   `If-None-Match` and `If-Modified-Since` answered 304.
    /// - One `Range: bytes=` answered 206 with `Content-Range` (416 when no
    ///   byte of it is in the file); several ranges get the whole file.
    /// - HEAD (GET routes answer it) gets the head alone.
    /// - A directory asked with its trailing slash answers with its `index`
    ///   file (`nil`: 404); asked without it, 301 to the same path with the
    ///   slash (and the query), so the index's relative links resolve.
    /// - Only regular files are served: a FIFO, socket or device in the
    ///   directory is 404, and is never opened in a way that could wait.
    /// - `dotfiles`: a path with a segment that starts with `.` (`.env`,
    ///   `.git/config`) below the prefix is 404 unless the mount says
    ///   `.served` (a site whose `.well-known/` lives in its directory, say).
    /// - `cacheControl`: the `Cache-Control` value of every answer of the
    ///   mount (200, 206 and 304), such as `"public, max-age=86400"`; nil
    ///   sends none.
    /// - `precompressed`: a sibling `name.br` or `name.gz` made at build
    ///   time is sent in place of `name` when the client's `Accept-Encoding`
    ///   takes it (Brotli first), with `Content-Encoding`, the original's
    ///   Content-Type and its own ETag (the coding in it); every answer of
    ///   such a mount says `Vary: Accept-Encoding`, its 404s included.
    /// - The body leaves without a copy through user space (sendfile, on
    ///   both backends), bounded like any response.
    ///
    /// Paths never leave the directory: `..` that climbs, encoded slashes
    /// and NUL are refused with 400 (see ``RelativePath``), and the file is
    /// opened beneath the directory without following any symlink, so a
    /// link pointing anywhere (even inside) answers 404. The directory is
    /// opened once, here; when it cannot be, every request answers 404 and
    /// the reason is logged.
    public func files(
        _ prefix: String, directory: String, index: String? = "index.html", dotfiles: Dotfiles = .hidden,
        cacheControl: String? = nil, precompressed: Bool = false
    ) {
        let root = FileRoot(
            directory: directory, index: index, dotfiles: dotfiles, cacheControl: cacheControl,
            precompressed: precompressed)
        let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        add(.get, base.isEmpty ? "/" : base) { ctx in
            try root.serve(ctx, RelativePath(resolving: UnsafeRawBufferPointer(start: nil, count: 0), field: nil))
        }
        add(.get, base + "/*path") { ctx in try root.serve(ctx, RelativePath.extract(from: ctx)) }
    }
}

/// Whether ``RouteRegistrar/files(_:directory:index:dotfiles:cacheControl:precompressed:)``
/// serves names that start with a dot.
public enum Dotfiles: Sendable {
    /// 404 for any path with a segment that starts with `.` (the default):
    /// `.env`, `.git/` and editor leftovers stay private.
    case hidden
    /// Served like any other file.
    case served
}

/// One served directory, held open for the server's life: each request's
/// path is opened relative to it.
final class FileRoot: Sendable {
    let dirfd: Int32
    let index: String?
    let dotfiles: Dotfiles
    let cacheControl: String?
    let precompressed: Bool

    init(directory: String, index: String?, dotfiles: Dotfiles, cacheControl: String?, precompressed: Bool) {
        dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd < 0 { logError("files: cannot open directory '\(directory)' (errno \(errno)): it answers 404") }
        self.index = index
        self.dotfiles = dotfiles
        self.cacheControl = cacheControl
        self.precompressed = precompressed
    }

    deinit { if dirfd >= 0 { close(dirfd) } }

    /// A precompressed sibling: its suffix and the Content-Encoding it is sent with.
    private static let siblings = [(".br", "br"), (".gz", "gzip")]

    func serve(_ ctx: Context, _ path: RelativePath) throws -> Response {
        if dotfiles == .hidden, path.segments.contains(where: { $0.hasPrefix(".") }) { throw HTTPError(.notFound) }
        var name = path.path.isEmpty ? "." : path.path
        // Missing is not yet 404 on a precompressed mount: the sibling alone may be there.
        var file = try? openFile(name)
        if let (fd, info) = file, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            let asked = ctx.path
            if !asked.hasSuffix("/") { return Self.redirectToSlash(asked, query: ctx.query) }
            guard let index else { throw HTTPError(.notFound) }
            name = name == "." ? index : name + "/" + index
            file = try? openFile(name)
        }
        var encoding: String?
        if precompressed, let (sibling, coding) = openSibling(of: name, accepted: ctx.header("Accept-Encoding")) {
            if let (fd, _) = file { close(fd) }
            file = sibling
            encoding = coding
        }
        guard let (fd, info) = file else { throw notFound }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw notFound
        }
        // Opened non-blocking so that a FIFO could not stall the open; a
        // regular file is read (and sent) as any other.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return answer(ctx, fd: fd, info: info, name: name, encoding: encoding)
    }

    /// A miss. On a precompressed mount it varies with Accept-Encoding too
    /// (only `app.js.gz` there: 200 to a client that takes gzip), so a
    /// shared cache must not hand one client's 404 to another.
    private var notFound: HTTPError {
        HTTPError(.notFound, headers: precompressed ? [(name: "Vary", value: "Accept-Encoding")] : [])
    }

    /// 301 to the directory's path with its slash. The path is the one the
    /// client sent (still percent-encoded); leading slashes are folded to
    /// one, so the Location can never name another host (`//host/`).
    private static func redirectToSlash(_ path: String, query: String) -> Response {
        var location = "/" + path.drop { $0 == "/" } + "/"
        if !query.isEmpty { location += "?" + query }
        return Response(status: HTTPStatus(301), headers: [("Location", location)])
    }

    /// The first precompressed sibling of `name` that the client accepts and
    /// that is a regular file, open, with its coding.
    private func openSibling(of name: String, accepted: String?) -> ((Int32, stat), String)? {
        guard let accepted else { return nil }
        for (suffix, coding) in Self.siblings where ContentCoding.accepts(coding, accepted) {
            guard let (fd, info) = try? openFile(name + suffix) else { continue }
            if (info.st_mode & S_IFMT) == S_IFREG { return ((fd, info), coding) }
            close(fd)
        }
        return nil
    }

    /// Opens a resolved relative path beneath the root: 404 for anything
    /// missing, a symlink on the way, or a name too long.
    private func openFile(_ name: String) throws -> (Int32, stat) {
        guard dirfd >= 0 else { throw HTTPError(.notFound) }
        let fd = chopin_open_beneath(dirfd, name)
        guard fd >= 0 else { throw HTTPError(.notFound) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw HTTPError(.notFound)
        }
        return (fd, info)
    }

    /// The headers every answer of the mount carries (304 included).
    private func commonHeaders(etag: String, lastModified: String, encoding: String?) -> [(String, String)] {
        var headers = [("ETag", etag), ("Last-Modified", lastModified)]
        if let cacheControl { headers.append(("Cache-Control", cacheControl)) }
        if precompressed { headers.append(("Vary", "Accept-Encoding")) }
        if let encoding { headers.append(("Content-Encoding", encoding)) }
        return headers
    }

    private func answer(_ ctx: Context, fd: Int32, info: stat, name: String, encoding: String?) -> Response {
        let size = UInt64(info.st_size)
        let mtime = Int64(info.st_mtim.tv_sec)
        // A coding's own tag: `gzip -k` keeps the original's mtime, so
        // size and time alone could name two codings the same.
        let coded = encoding.map { "-" + $0 } ?? ""
        let etag = "\"\(String(size, radix: 16))-\(String(mtime, radix: 16))\(String(info.st_mtim.tv_nsec, radix: 16))\(coded)\""
        let lastModified = Self.httpDate(mtime)
        var headers = commonHeaders(etag: etag, lastModified: lastModified, encoding: encoding)
        if notModified(ctx, etag: etag, mtime: mtime) {
            close(fd)
            return Response(status: .notModified, headers: headers.filter { $0.0 != "Content-Encoding" })
        }
        var range = ByteRange(header: ctx.header("Range"), size: size)
        if range != .whole, let ifRange = ctx.header("If-Range"), ifRange != etag { range = .whole }
        let status: HTTPStatus
        headers.append(("Accept-Ranges", "bytes"))
        let (offset, length): (UInt64, UInt64)
        switch range {
        case .unsatisfiable:
            close(fd)
            return Response(
                status: HTTPStatus(416),
                headers: [("Content-Range", "bytes */\(size)")] + headers.filter { $0.0 == "Vary" || $0.0 == "Cache-Control" })
        case .part(let start, let end):
            status = HTTPStatus(206)
            headers.append(("Content-Range", "bytes \(start)-\(end)/\(size)"))
            (offset, length) = (start, end - start + 1)
        case .whole:
            status = .ok
            (offset, length) = (0, size)
        }
        let type = MediaTypes.forFile(name.split(separator: "/").last ?? "")
        let res = ctx.writer
        res.start(status)
        res.header("Content-Type", type)
        for (name, value) in headers { res.header(name, value) }
        res.file(fd, offset: offset, length: length)
        return Response(status: status, contentType: nil, body: .written)
    }

    /// If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2).
    private func notModified(_ ctx: Context, etag: String, mtime: Int64) -> Bool {
        if let match = ctx.header("If-None-Match") {
            return match.split(separator: ",").contains { tag in
                var t = tag.drop { $0 == " " }
                while t.last == " " { t = t.dropLast() }
                if t.hasPrefix("W/") { t = t.dropFirst(2) }  // weak comparison
                return t == "*" || t == etag
            }
        }
        guard let since = ctx.header("If-Modified-Since") else { return false }
        let seconds = since.withUTF8Bytes { chopin_parse_http_date($0.baseAddress, $0.count) }
        return seconds >= 0 && mtime <= seconds
    }

    static func httpDate(_ seconds: Int64) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 29) { buf in
            chopin_format_http_date(buf.baseAddress, seconds)
            return String(decoding: UnsafeRawBufferPointer(buf).bindMemory(to: UInt8.self), as: UTF8.self)
        }
    }
}
