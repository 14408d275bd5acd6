#!/usr/bin/env bash
# The README's test command: installs system packages if missing, builds everything (native shim
# included) with warnings as errors, and runs the test suite. Extra arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
dotnet test Attribution.sln -c Release "$@"
