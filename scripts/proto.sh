#!/usr/bin/env bash
# `make proto`: regenerates Sources/Hammer/GRPC/Generated from proto/ (hammer/v1/hammer.proto, grpc/health/v1/health.proto). The generated code is
# committed, so neither a build nor CI runs this. Builds swift-protobuf's and grpc-swift-protobuf's protoc plugins
# (release, a few minutes the first time) in scripts/protoc-plugins and installs protoc from apt when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v protoc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
  else
    echo "proto.sh: protoc is missing (apt-get install protobuf-compiler)" >&2
    exit 1
  fi
fi
plugins="$root/scripts/protoc-plugins"
swift build -c release --package-path "$plugins" --product protoc-gen-swift
swift build -c release --package-path "$plugins" --product protoc-gen-grpc-swift-2
bin=$(swift build -c release --package-path "$plugins" --show-bin-path)
out="$root/Sources/Hammer/GRPC/Generated"
mkdir -p "$out"
rm -f "$out"/*.swift
protoc -I "$root/proto" \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --swift_out="$out" --swift_opt=Visibility=Public,FileNaming=DropPath \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" --grpc-swift-2_out="$out" \
  --grpc-swift-2_opt=Visibility=Public,FileNaming=DropPath,Client=true,Server=true \
  "$root/proto/hammer/v1/hammer.proto" "$root/proto/grpc/health/v1/health.proto"
# Generated code is not ours to format: swift format lint skips these files.
for file in "$out"/*.swift; do
  { echo "// swift-format-ignore-file"; cat "$file"; } > "$file.tmp" && mv "$file.tmp" "$file"
done
ls -l "$out"
