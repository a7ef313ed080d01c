#!/bin/sh
# Regenerate the CRI gRPC stubs from the vendored upstream api.proto (see README.md).
# Usage: regenerate.sh PYTHON [OUTDIR]
#   PYTHON: a Python with grpcio-tools and mypy-protobuf (`make cri-stubs` passes the venv's)
#   OUTDIR: where the four generated files go (default: beside this script)
# The proto is copied to a scratch tree at this package's import path, so that the
# generated modules import each other as harden.system.cri.api.*; gogo-protobuf
# imports and options (present in cri-api releases before v0.31) are removed on the way.
set -eu
python=${1:-python3}
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here}
package=harden/system/cri/api
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/$package"
grep -v -e '^import "github.com/gogo/' -e '^option (gogoproto\.' "$here/api.proto" \
  | sed -e 's/ *\[(gogoproto\.[^]]*\]//' > "$scratch/$package/api.proto"
bin=$(dirname "$python")
"$python" -m grpc_tools.protoc -I "$scratch" \
  --plugin=protoc-gen-mypy="$bin/protoc-gen-mypy" \
  --plugin=protoc-gen-mypy_grpc="$bin/protoc-gen-mypy_grpc" \
  --python_out="$scratch" --grpc_python_out="$scratch" \
  --mypy_out="$scratch" --mypy_grpc_out="$scratch" \
  "$scratch/$package/api.proto"
for name in api_pb2.py api_pb2.pyi api_pb2_grpc.py api_pb2_grpc.pyi; do
  cp "$scratch/$package/$name" "$out/$name"
done
