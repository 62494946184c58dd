#!/usr/bin/env bash
# The Debian package: cpack builds it from the build tree; extracted into a temporary root (not
# /usr: the install is relocatable), its simbi runs the projectile example, an out-of-tree plugin
# builds against its SDK, and its environment module puts it on PATH.
# usage: package_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
source_dir=$1
build=$2
work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work"

cpack --config "$build/CPackConfig.cmake" -B "$work/package" > "$work/cpack.txt" 2>&1 || { cat "$work/cpack.txt" >&2; fail "cpack failed"; }
deb=$(ls "$work"/package/simbi_*.deb)
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"
info=$(dpkg-deb --info "$deb")
grep -q "Depends:.*libtorch" <<< "$info" || { echo "$info" >&2; fail "the package does not depend on Debian's LibTorch"; }
root="$work/root"
dpkg-deb -x "$deb" "$root"
usr="$root/usr"
[ -x "$usr/bin/simbi" ] || fail "no bin/simbi in the package"
ls "$usr"/lib/simbi/plugins/simbi_npe.so > /dev/null || fail "no plugins in the package"

# The extracted simbi finds its own plugins, relative to itself, and runs the main job.
version=$("$usr/bin/simbi" --version)
grep -q "installed:   $usr" <<< "$version" || fail "--version does not name the extracted prefix"
"$usr/bin/simbi" run "$source_dir/samples/projectile/manifest.json" -q --out "$work/projectile" \
    --set simulation.budget=2000 --set simulation.store="$work/sims.h5" --set estimator.training.max_epochs=5 \
    --set 'diagnostics=[{"id": "simbi.coverage", "config": {"pairs": 20, "samples": 50}}]' > "$work/run.txt" 2>&1 ||
    { cat "$work/run.txt" >&2; fail "the packaged simbi could not run the projectile example"; }
[ -f "$work/projectile/report.html" ] || fail "the packaged run wrote no report"

# An out-of-tree plugin builds against the packaged SDK and loads.
cmake -S "$source_dir/samples/cpp_plugin" -B "$work/cpp_plugin" -DCMAKE_PREFIX_PATH="$usr" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/cpp_plugin" > /dev/null
"$usr/bin/simbi" plugins check "$work/cpp_plugin/simbi_projectile_cpp.so" > /dev/null || fail "the sample plugin built against the package fails its checks"

# The environment module, where environment-modules is installed.
if [ -f /usr/share/modules/init/bash ]; then
    (
        set +u
        source /usr/share/modules/init/bash
        module use "$usr/share/modulefiles"
        module load simbi
        [ "$(command -v simbi)" = "$usr/bin/simbi" ] || fail "module load simbi did not put the package's simbi first on PATH"
        [ "$SIMBI_PREFIX" = "$usr" ] || fail "the module's SIMBI_PREFIX is '$SIMBI_PREFIX'"
        simbi --version > /dev/null
    )
    echo "module load simbi: ok"
else
    echo "environment-modules not installed: the module was not tried"
fi
echo "package: all checks passed"
