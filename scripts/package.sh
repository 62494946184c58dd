#!/usr/bin/env bash
# Builds simbi's Debian package from the build tree: build/package/simbi_<version>_<arch>.deb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cpack --config build/CPackConfig.cmake -B build/package
ls -l build/package/*.deb
