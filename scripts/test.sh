#!/usr/bin/env bash
# The README's test command: builds everything with warnings as errors and runs the test suite. Needs only the
# .NET SDK: TorchSharp and libtorch come from NuGet. Extra arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet test Attribution.sln -c Release "$@"
