import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ExampleProcessTests {
    /// Two servers in one program: chopin-example `--admin-port` serves
    /// /metrics and /ready on a second server (worker threads, 127.0.0.1) next
    /// to the public one. Under worker processes each public worker is the
    /// program run again, admin server included: that one stays dormant there,
    /// so the admin routes are never reachable on the public port, the public
    /// workers never restart in a loop, and both stop on SIGTERM. Both
    /// backends, both isolation modes of the public server.
    @Suite struct TwoServersTests {
        @Test(arguments: [("epoll", "process-per-worker"), ("uring", "process-per-worker"), ("epoll", "shared-process"), ("uring", "shared-process"), ("epoll", "threads"), ("uring", "threads")])
        func adminRoutesStayOnTheAdminPort(backend: String, isolation: String) throws {
            let adminPort = try ExampleProcess.freePort()
            let server = try ExampleProcess(
                ["--workers", "2", "--isolation", isolation, "--backend", backend, "--admin-port", "\(adminPort)"])
            // Every public worker, over new connections (each may land on another).
            for _ in 0..<20 {
                #expect(try TestClient(port: server.port).request("GET", "/plaintext").status == 200)
                #expect(try TestClient(port: server.port).request("GET", "/metrics").status == 404)
                #expect(try TestClient(port: server.port).request("GET", "/ready").status == 404)
            }
            let admin = try TestClient(port: adminPort)
            let metrics = try admin.request("GET", "/metrics")
            #expect(metrics.status == 200 && metrics.text.contains("chopin_requests_total"))
            let ready = try admin.request("GET", "/ready")
            #expect(ready.status == 200 && ready.text == "ready\n")
            #expect(try admin.request("GET", "/plaintext").status == 404, "the public routes are not the admin's")
            usleep(300_000)
            let restarts = metrics.text.split(separator: "\n").filter { $0.hasPrefix("chopin_worker_restarts_total{") }
            #expect(restarts.allSatisfy { $0.hasSuffix(" 0") }, "\(restarts)")
            let log = server.stderrText()
            #expect(!log.contains("already in use") && !log.contains(" died ") && !log.contains("exited"), "\(log)")
            kill(server.pid, SIGTERM)
            let status = server.exitStatus(waitingUpTo: 10_000)
            #expect(status == 0, "exit status \(status.map { "\($0)" } ?? "none: still running")")
            // (An io_uring instance's files are let go a moment after the process, asynchronously.)
            var refused = false
            for _ in 0..<100 where !refused {
                refused = (try? TestClient(port: adminPort)) == nil
                if !refused { usleep(20_000) }
            }
            #expect(refused, "the admin server stopped with the program")
        }
    }
}
