#!/usr/bin/env bash
# openapi-generate.sh - writes Examples/ChopinExampleOpenAPI/Generated again from
# Examples/chopin-example/openapi.yaml with swift-openapi-generator, built once
# in a package of its own (build/openapi-generator): the generator, OpenAPIKit
# and Yams take minutes to build, so the example commits what it generated
# instead of using the build plugin on every build.
set -eu
cd "$(dirname "$0")/.."
tool=build/openapi-generator
mkdir -p "$tool/Sources/unused"
cat > "$tool/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "openapi-generator-tool",
    dependencies: [.package(url: "https://github.com/apple/swift-openapi-generator.git", exact: "1.14.3")],
    targets: [.target(name: "unused", path: "Sources/unused")]
)
SWIFT
echo "// Only the dependency's executable is used." > "$tool/Sources/unused/unused.swift"
swift build -c release --package-path "$tool" --product swift-openapi-generator
out=Examples/ChopinExampleOpenAPI/Generated
rm -rf "$out"
mkdir -p "$out"
"$tool/.build/release/swift-openapi-generator" generate \
    --config Examples/chopin-example/openapi-generator-config.yaml \
    --output-directory "$out" Examples/chopin-example/openapi.yaml
echo "openapi-generate: $out written from Examples/chopin-example/openapi.yaml"
