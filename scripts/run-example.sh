#!/usr/bin/env bash
# The main job: install, build, then run the projectile example end to end
# (simulate -> train -> sample -> summary) into samples/projectile/runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/bin/simbi run samples/projectile/manifest.json
cat samples/projectile/runs/projectile/summary.json
