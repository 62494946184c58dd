#!/usr/bin/env bash
# The architecture, checked (docs/architecture.md): the host's layers are core < store, report <
# plugins < pipeline (< cli), and no file includes a header of a higher layer or of another layer
# beside its own; framework/ never includes LibTorch; plugins/ and framework/ never include each
# other; the SDK includes nothing of either.
# usage: layers_test.sh SOURCE_DIR
set -euo pipefail
cd "$1"
rank() {
  case $1 in
    core) echo 0 ;; store | report) echo 1 ;; plugins) echo 2 ;; pipeline) echo 3 ;; *) echo 9 ;;
  esac
}
bad=0
while IFS= read -r file; do
  mine=$(echo "$file" | sed -E 's#^framework/(include/simbi_host|src)/([a-z]+)/.*#\2#')
  [ "$mine" = "$file" ] && continue
  for used in $(grep -oE '#include "simbi_host/[a-z]+/' "$file" | sed -E 's#.*simbi_host/([a-z]+)/#\1#' | sort -u); do
    if [ "$used" != "$mine" ] && [ "$(rank "$used")" -ge "$(rank "$mine")" ]; then
      echo "$file ($mine) includes a header of $used"
      bad=1
    fi
  done
done < <(find framework/include framework/src -name '*.hpp' -o -name '*.cpp' | sort)
if grep -rlE '#include <torch/|#include <ATen/' framework; then echo "framework/ includes LibTorch"; bad=1; fi
if grep -rl 'simbi_host/' plugins; then echo "plugins/ include the host's headers"; bad=1; fi
if grep -rlE 'simbi_host/|neural/' sdk/include; then echo "the SDK includes the host or the plugins"; bad=1; fi
[ "$bad" = 0 ] && echo "layers: core < store, report < plugins < pipeline; framework/ torch-free; plugins/ and framework/ apart"
exit "$bad"
