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
    /// - A directory answers with its `index` file (`nil`: 404).
    /// - The body leaves without a copy through user space where the
    ///   backend allows (sendfile on epoll), bounded like any response.
    ///
    /// Paths never leave the directory: `..` that climbs, encoded slashes
    /// and NUL are refused with 400 (see ``RelativePath``), and the file is
    /// opened beneath the directory without following any symlink, so a
    /// link pointing anywhere (even inside) answers 404. The directory is
    /// opened once, here; when it cannot be, every request answers 404 and
    /// the reason is logged.
    public func files(_ prefix: String, directory: String, index: String? = "index.html") {
        let root = FileRoot(directory: directory, index: index)
        let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        add(.get, base.isEmpty ? "/" : base) { ctx in
            try root.serve(ctx, RelativePath(resolving: UnsafeRawBufferPointer(start: nil, count: 0), field: nil))
        }
        add(.get, base + "/*path") { ctx in try root.serve(ctx, RelativePath.extract(from: ctx)) }
    }
}

/// One served directory, held open for the server's life: each request's
/// path is opened relative to it.
final class FileRoot: Sendable {
    let dirfd: Int32
    let index: String?

    init(directory: String, index: String?) {
        dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd < 0 { logError("files: cannot open directory '\(directory)' (errno \(errno)): it answers 404") }
        self.index = index
    }

    deinit { if dirfd >= 0 { close(dirfd) } }

    func serve(_ ctx: Context, _ path: RelativePath) throws -> Response {
        var name = path.path.isEmpty ? "." : path.path
        var (fd, info) = try openFile(name)
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            guard let index else { throw HTTPError(.notFound) }
            name = name == "." ? index : name + "/" + index
            (fd, info) = try openFile(name)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw HTTPError(.notFound)
        }
        return answer(ctx, fd: fd, info: info, name: name)
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

    private func answer(_ ctx: Context, fd: Int32, info: stat, name: String) -> Response {
        let size = UInt64(info.st_size)
        let mtime = Int64(info.st_mtim.tv_sec)
        let etag = "\"\(String(size, radix: 16))-\(String(mtime, radix: 16))\(String(info.st_mtim.tv_nsec, radix: 16))\""
        let lastModified = Self.httpDate(mtime)
        if notModified(ctx, etag: etag, mtime: mtime) {
            close(fd)
            return Response(status: .notModified, headers: [("ETag", etag), ("Last-Modified", lastModified)])
        }
        var range = ByteRange(header: ctx.header("Range"), size: size)
        if range != .whole, let ifRange = ctx.header("If-Range"), ifRange != etag { range = .whole }
        let status: HTTPStatus
        var headers = [("ETag", etag), ("Last-Modified", lastModified), ("Accept-Ranges", "bytes")]
        let (offset, length): (UInt64, UInt64)
        switch range {
        case .unsatisfiable:
            close(fd)
            return Response(status: HTTPStatus(416), headers: [("Content-Range", "bytes */\(size)")])
        case .part(let start, let end):
            status = HTTPStatus(206)
            headers.append(("Content-Range", "bytes \(start)-\(end)/\(size)"))
            (offset, length) = (start, end - start + 1)
        case .whole:
            status = .ok
            (offset, length) = (0, size)
        }
        let type = MediaTypes.forFile(name.split(separator: "/").last ?? "")
        guard !ctx.isOwned else {
            // An owned request (behind a middleware that awaits) answers
            // through a deferred response, which cannot send a file: read it.
            defer { close(fd) }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(length), off_t(offset)) }
            guard got == Int(length) else { return Response(status: .internalServerError) }
            var answer = Response.bytes(bytes, contentType: type, status: status)
            answer.headers = headers
            return answer
        }
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
