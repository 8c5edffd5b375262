// swift-tools-version:6.0
// Chopin: an HTTP/1.1 server framework for Swift on Linux whose hot path is C.
// The C core (CChopinCore) also builds alone with `make`; both read the same
// headers in include/ (Sources/CChopinCore/include is a symlink to it).
import CompilerPluginSupport
import PackageDescription

let package = Package(
    name: "Chopin",
    products: [
        .library(name: "Chopin", targets: ["Chopin"]),
        .executable(name: "chopin-example", targets: ["chopin-example"]),
        // `@JSON` (encoder and decoder generated at compile time). A separate
        // product because its macro builds swift-syntax: users who do not
        // write `@JSON` never build it.
        .library(name: "ChopinJSON", targets: ["ChopinJSON"]),
        // Serving a Router in a test, in process or on a live port, and
        // reading its answers as a client would.
        .library(name: "ChopinTesting", targets: ["ChopinTesting"]),
        // A swift-openapi-generator server on a Router. A separate product so
        // that users who do not use OpenAPI never build swift-openapi-runtime.
        .library(name: "ChopinOpenAPI", targets: ["ChopinOpenAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftlang/swift-syntax.git", exact: "603.0.1"),
        // The currency types of Swift's HTTP ecosystem (HTTPRequest.Method,
        // HTTPResponse.Status, HTTPFields): Chopin's API takes and gives them.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // `make docs`: builds the DocC catalog (a command plugin; nothing links it).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        // Only the example's database routes use these; no product of Chopin does.
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        // POST /upload's SHA-256 (postgres-nio builds it already).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.9.0"..<"5.0.0"),
        // Chopin's own, API packages only: logs through swift-log, metrics through
        // swift-metrics (CoreMetrics), a Service for swift-service-lifecycle's ServiceGroup.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // TracingMiddleware: swift-distributed-tracing is an API package (the
        // tracer, swift-otel or another, is the app's to bootstrap).
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // ChopinOpenAPI's ServerTransport (only that product depends on it).
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
    ],
    targets: [
        .target(
            name: "CChopinCore",
            path: "Sources/CChopinCore",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [
                // liburing is linked in (":liburing.a", a name the linker takes as a file),
                // so the binary also starts where liburing.so is missing and epoll is used.
                .linkedLibrary(":liburing.a"), .linkedLibrary("pthread"),
                // zlib (Debian's zlib1g-dev): gzip and deflate for responses.
                .linkedLibrary("z"),
                // OpenSSL 3 (Debian's libssl-dev): TLS, used only by a server given a certificate.
                .linkedLibrary("ssl"), .linkedLibrary("crypto"),
            ]
        ),
        .target(
            name: "Chopin",
            dependencies: [
                "CChopinCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "ChopinOpenAPI",
            dependencies: [
                "Chopin", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "ChopinTesting",
            dependencies: ["Chopin", .product(name: "Logging", package: "swift-log")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The @JSON macro's implementation (runs in the compiler) and its
        // public declaration; the runtime it calls lives in Chopin.
        .macro(
            name: "ChopinMacros",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "ChopinJSON",
            dependencies: ["Chopin", "ChopinMacros"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // chopin-example's OpenAPI-defined API: Examples/chopin-example/openapi.yaml,
        // its server code generated by swift-openapi-generator and committed
        // (Generated/; `make openapi-generate` writes it again).
        .target(
            name: "ChopinExampleOpenAPI",
            dependencies: [
                "Chopin", "ChopinOpenAPI", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            path: "Examples/ChopinExampleOpenAPI",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The example routes, shared by chopin-example, the tests and the
        // JSON bench; no product names it, so Chopin's users never get it.
        .target(
            name: "ChopinExampleRoutes",
            dependencies: [
                "Chopin", "ChopinJSON", "ChopinExampleOpenAPI", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/ChopinExampleRoutes",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // chopin-example's /db and /queries (TechEmpower's World table over
        // postgres-nio), kept apart so that nothing else builds postgres-nio.
        .target(
            name: "ChopinExampleDatabase",
            dependencies: [
                "Chopin", "ChopinJSON",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/ChopinExampleDatabase",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "chopin-example",
            dependencies: [
                "Chopin", "ChopinExampleRoutes", "ChopinExampleDatabase",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/chopin-example",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "CMallocCounter",
            path: "Tests/CMallocCounter"
        ),
        .executableTarget(
            name: "chopin-json-bench",
            dependencies: ["Chopin", "ChopinJSON", "ChopinExampleRoutes"],
            path: "bench/chopin-json-bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // What swift-openapi-runtime and the generated code cost per request
        // on their own (issue 25's OpenAPI targets); no product names it.
        .executableTarget(
            name: "openapi-floor",
            dependencies: [
                "ChopinExampleOpenAPI", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "bench/openapi-floor",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "ChopinTests",
            dependencies: [
                "Chopin", "ChopinJSON", "ChopinTesting", "ChopinOpenAPI", "ChopinExampleRoutes", "ChopinExampleDatabase", "CMallocCounter",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "ChopinMacrosTests",
            dependencies: [
                "ChopinMacros",
                .product(name: "SwiftSyntaxMacrosTestSupport", package: "swift-syntax"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
