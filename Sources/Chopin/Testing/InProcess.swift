internal import CChopinCore

#if canImport(Glibc)
    import Glibc
#endif

// What ChopinTesting needs of the server to run a router in process: a
// server that binds nothing, and connections handed to it directly.

extension Server {
    /// Starts serving `router` on worker threads without binding any
    /// address: its only connections are those ``RunningServer/connectInProcess()``
    /// makes. The same workers, pipeline, limits and timeouts as a server
    /// that listens.
    @_spi(Testing)
    public func startInProcess(_ router: Router) throws -> RunningServer {
        try launch(router, isolation: .threads, listening: false)
    }
}

/// Why an in-process connection could not be made.
@_spi(Testing)
public struct InProcessConnectionError: Error, CustomStringConvertible {
    /// What failed, with errno's text.
    public let description: String
}

extension RunningServer {
    /// A connection into this server's workers through a socket pair (no
    /// address, no port): the returned descriptor is the client's end,
    /// blocking, for the caller to close.
    @_spi(Testing)
    public func connectInProcess() throws(InProcessConnectionError) -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw InProcessConnectionError(description: "socketpair: \(String(cString: strerror(errno)))")
        }
        let rc = adopt(ends[1])
        guard rc == 0 else {
            close(ends[0])
            close(ends[1])
            throw InProcessConnectionError(description: "the server took no connection: \(String(cString: strerror(-rc)))")
        }
        return ends[0]
    }
}
