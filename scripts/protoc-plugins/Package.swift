// swift-tools-version:6.0
import PackageDescription

// Builds the protoc plugins `make proto` runs (scripts/proto.sh); not part of hammer's build.
let package = Package(
    name: "protoc-plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ]
)
