// swift-tools-version:6.2
// Chopin with swift-otel: the DocC article "Tracing" shows this file's
// bootstrap. A package of its own, outside Chopin's, because swift-otel
// and its OTLP exporter take minutes to build on two cores: `make
// example-otel` builds it; `make test` does not.
import PackageDescription

let package = Package(
    name: "chopin-otel",
    platforms: [.macOS("15.0")],
    dependencies: [
        .package(name: "Chopin", path: "../.."),
        // OTLP over HTTP only: the gRPC exporter would add grpc-swift's build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "chopin-otel",
            dependencies: [
                .product(name: "Chopin", package: "Chopin"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
