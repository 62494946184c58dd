#!/usr/bin/env bash
# Installs what simbi needs on Debian 12, from Debian's own packages. Run as root.
set -euo pipefail
packages=(build-essential cmake ninja-build ccache pkg-config
          libboost-dev libboost-program-options-dev nlohmann-json3-dev catch2
          libhdf5-dev hdf5-tools libssl-dev libtorch-dev libgloo-dev libopenblas0-pthread chromium python3-numpy openmpi-bin
          valgrind gfortran procps environment-modules clang-format libsqlite3-dev curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
