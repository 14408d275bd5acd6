#!/usr/bin/env bash
# Builds and runs the libtorch-only matmul reference (see matmul.cpp).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${TMPDIR:-/tmp}/attribution-matmul-reference"
g++ -O2 -std=c++17 "$here/matmul.cpp" -o "$out" -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
"$out"
