#!/usr/bin/env bash
# The README's first command: builds the command line (TorchSharp and libtorch come from NuGet), trains the small
# default model on the generated corpus on first use (cached under ~/.cache/attribution, no download), explains a
# handful of sentences with every method and writes the HTML report, printing where. Extra arguments go to
# `attribution demo` (e.g. --output report.html, --model DIR). The report lands in the current directory unless
# --output says otherwise.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
exec dotnet run -c Release --project "$repo/src/Attribution.Cli" -- demo "$@"
