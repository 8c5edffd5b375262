// What the fuzzers stand in for: swiftc alone builds them over Chopin's
// sources, without SwiftPM's packages, so the files that need swift-log,
// swift-metrics, swift-service-lifecycle or swift-http-types (the server,
// its logging and observability, the HTTPTypes interop) are left out
// (Makefile, SWIFT_SRC). The code under fuzz (JSON, the router, the
// extractors) calls only this one of theirs, to report a failure.

func logError(_ message: String, metadata: [String: String] = [:]) {}
