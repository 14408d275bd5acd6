#!/usr/bin/env bash
# Installs the system packages Attribution needs on Debian/Ubuntu:
#   libtorch-dev         libtorch 1.13 (C++ headers, libraries, CMake config) - the engine we bind
#   libopenblas0-pthread OpenBLAS; without it libtorch falls back to reference BLAS (~25x slower matmuls)
#   cmake g++            to build the native shim (src/Native)
# Idempotent: does nothing when everything is present.
set -euo pipefail

packages=(libtorch-dev libopenblas0-pthread cmake g++)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -q
$sudo_cmd apt-get install -y -q "${missing[@]}"
