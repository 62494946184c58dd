#!/usr/bin/env bash
# Two users of one installation: A simulates into a folder of A's; B trains on A's sealed store
# as it is (read-only to B: 0 new simulations, no lock taken), even while A holds the store's
# lock, and cannot change or delete A's files; through a group cache, B reuses what A simulated
# and samples the posterior A published; what the cache shares is group-readable and never
# writable by others, even under a umask of 000; a bundle installed with --system is found and run
# by both. Needs root (useradd, runuser), as CI runs; skips
# otherwise (exit 77).
# usage: two_users_test.sh BUILD_DIR
set -euo pipefail
build=$1
if [ "$(id -u)" != 0 ] || ! command -v useradd > /dev/null || ! command -v runuser > /dev/null; then
    echo "skipped: needs root, useradd and runuser"
    exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

# Under /tmp: every folder above the installation must be open to both users.
work=$(mktemp -d /tmp/simbi-two-users.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > /dev/null
chmod -R go-w "$prefix"
simbi="$prefix/bin/simbi"
for u in simbi_lab_a simbi_lab_b; do
    id "$u" > /dev/null 2>&1 || useradd --create-home --shell /bin/bash "$u"
done
as() { local who=$1; shift; runuser -u "$who" -- env -u SIMBI_PLUGIN_PATH HOME="$(getent passwd "$who" | cut -d: -f6)" OMP_WAIT_POLICY=PASSIVE "$@"; }

shared="$work/a_shared"
mkdir -p "$shared" && chown simbi_lab_a "$shared" && chmod 755 "$shared"
cat > "$shared/manifest.json" <<'JSON'
{"simbi": 1, "simulator": {"id": "simbi.projectile"},
 "simulation": {"budget": 2000, "seed": 7, "store": "sims.h5"},
 "estimator": {"id": "simbi.npe", "training": {"max_epochs": 3}},
 "observation": {"x": [38.0]}}
JSON
chown simbi_lab_a "$shared/manifest.json"
as simbi_lab_a "$simbi" simulate "$shared/manifest.json" -q > /dev/null
[ -f "$shared/sims.h5" ] || fail "A's simulation wrote no store"
[ "$(stat -c %U "$shared/sims.h5")" = simbi_lab_a ] || fail "the store is not A's"

home_b=$(getent passwd simbi_lab_b | cut -d: -f6)
rm -rf "$home_b/run_on_a"  # an earlier run's
# A holds the store's lock (as a writer would) while B trains on the sealed store.
as simbi_lab_a flock "$shared/sims.h5.lock" sleep 60 > /dev/null 2>&1 &
holder=$!
sleep 0.5
start=$(date +%s%N)
as simbi_lab_b "$simbi" run "$shared/manifest.json" --out "$home_b/run_on_a" 2> "$work/b.txt" > /dev/null ||
    { pkill -KILL -u simbi_lab_a; cat "$work/b.txt" >&2; fail "B could not train on A's read-only store"; }
end=$(date +%s%N)
pkill -KILL -u simbi_lab_a 2> /dev/null || true  # the lock holder and its sleep
grep -q "simulate: reused 2000 rows in $shared/sims.h5, up to date" "$work/b.txt" || { cat "$work/b.txt" >&2; fail "B simulated again"; }
[ -f "$home_b/run_on_a/posterior.csv" ] || fail "B's run wrote no posterior"
echo "B's run on A's store: $(( (end - start) / 1000000 )) ms"

# A group cache (setgid, sticky: members add files, and no one removes another's): A's run of a
# setup fills it and A publishes the posterior; B's run of the same setup, from B's own folder,
# simulates nothing, and B samples A's posterior by name.
getent group simbi_lab > /dev/null || groupadd simbi_lab
usermod -a -G simbi_lab simbi_lab_a
usermod -a -G simbi_lab simbi_lab_b
cache="$work/cache"
mkdir -p "$cache/stores" "$cache/posteriors"
chgrp -R simbi_lab "$cache"
chmod 3775 "$cache" "$cache/stores" "$cache/posteriors"
echo "{\"cache\": \"$cache\"}" > "$work/lab.json"
chmod 644 "$work/lab.json"
lab() { local who=$1; shift; as "$who" env SIMBI_CONFIG="$work/lab.json" "$@"; }
cat > "$shared/cached.json" <<'JSON'
{"simbi": 1, "simulator": {"id": "simbi.projectile"},
 "simulation": {"budget": 2000, "seed": 8},
 "estimator": {"id": "simbi.npe", "training": {"max_epochs": 3}},
 "observation": {"x": [38.0]}, "output": "runs/cached"}
JSON
chown simbi_lab_a "$shared/cached.json"
# A careless umask (000) must not make the shared files writable by others.
lab simbi_lab_a sh -c 'umask 000; exec "$@"' _ "$simbi" run "$shared/cached.json" -q > /dev/null 2> "$work/a_cached.txt" ||
    { cat "$work/a_cached.txt" >&2; fail "A's cached run failed"; }
lab simbi_lab_a sh -c 'umask 000; exec "$@"' _ "$simbi" artifact publish "$shared/runs/cached" projectile_npe > /dev/null
writable=$(find "$cache/stores" "$cache/posteriors" -mindepth 1 -perm -o+w ! -name '*.lock' ! -type l)
[ -z "$writable" ] || fail "shared files writable by others: $writable"
unreadable=$(find "$cache/stores" "$cache/posteriors" -mindepth 1 ! -perm -g+r ! -name '*.lock')
[ -z "$unreadable" ] || fail "shared files the group cannot read: $unreadable"
rm -rf "$home_b/project"  # an earlier run's
mkdir -p "$home_b/project" && cp "$shared/cached.json" "$home_b/project/" && chown -R simbi_lab_b "$home_b/project"
lab simbi_lab_b "$simbi" run "$home_b/project/cached.json" 2> "$work/b_cached.txt" > /dev/null || { cat "$work/b_cached.txt" >&2; fail "B's cached run failed"; }
grep -q "simulate: reused 2000 rows in $cache/stores/" "$work/b_cached.txt" || { cat "$work/b_cached.txt" >&2; fail "B simulated a setup A had cached"; }
lab simbi_lab_b "$simbi" sample lab:projectile_npe --x 38.0 --n 100 > "$work/b_samples.csv" || fail "B could not sample A's published posterior"
[ "$(wc -l < "$work/b_samples.csv")" = 101 ] || fail "B's samples of lab:projectile_npe"
lab simbi_lab_b "$simbi" cache list > "$work/list.txt"
grep -q "posterior projectile_npe  simbi_lab_a" "$work/list.txt" || { cat "$work/list.txt" >&2; fail "cache list does not show A's posterior"; }
lab simbi_lab_b "$simbi" cache verify > /dev/null || fail "the cache does not verify"
# Two users start one new setup at once: the second waits for the first and reuses its store.
cat > "$work/same.json" <<'JSON'
{"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 3000000, "seed": 9}}
JSON
chmod 644 "$work/same.json"
lab simbi_lab_a "$simbi" simulate "$work/same.json" -q > "$work/same_a.txt" 2>&1 &
first=$!
for _ in $(seq 1 200); do ls "$cache"/stores/*.journal > /dev/null 2>&1 && break; sleep 0.05; done
lab simbi_lab_b "$simbi" simulate "$work/same.json" -q > "$work/same_b.txt" 2>&1 || { cat "$work/same_b.txt" >&2; fail "B's simultaneous start failed"; }
wait $first || { cat "$work/same_a.txt" >&2; fail "A's simultaneous start failed"; }
grep -q "is being written by pid .*; waiting for it" "$work/same_b.txt" || { cat "$work/same_b.txt" >&2; fail "B did not wait for A"; }
grep -q "is up to date (3000000 rows)" "$work/same_b.txt" || { cat "$work/same_b.txt" >&2; fail "B simulated what A was simulating"; }

store_a=$(ls "$cache"/stores/*.h5 | head -1)
[ "$(stat -c %G "$store_a")" = simbi_lab ] || fail "a cached store did not take the cache's group"
! as simbi_lab_b rm -f "$store_a" 2> /dev/null || fail "B deleted A's cached store"
! as simbi_lab_b rm -rf "$cache/posteriors/projectile_npe" 2> /dev/null || true
[ -f "$cache/posteriors/projectile_npe/provenance.json" ] || fail "B removed A's published posterior"

# B cannot change or delete A's files.
! as simbi_lab_b sh -c "echo x >> '$shared/sims.h5'" 2> /dev/null || fail "B appended to A's store"
! as simbi_lab_b rm -f "$shared/sims.h5" 2> /dev/null || fail "B deleted A's store"
[ -f "$shared/sims.h5" ] || fail "A's store is gone"
as simbi_lab_a "$simbi" dataset verify "$shared/sims.h5" > /dev/null || fail "A's store no longer verifies"
# A plugin bundle installed for the whole installation (--system) is found and run by both users.
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
"$simbi" plugins pack "$source_dir/samples/perl_bridge/gauss.bridge.json" --out "$work/gauss.simbi-bundle" > /dev/null 2>&1 || fail "plugins pack"
"$simbi" plugins install "$work/gauss.simbi-bundle" --system > "$work/install.txt" 2>&1 || { cat "$work/install.txt" >&2; fail "plugins install --system"; }
echo '{"simbi": 1, "simulator": {"id": "perl.gauss@1.0.0"}, "simulation": {"budget": 10, "seed": 1}}' > "$work/gauss.json"
chmod 644 "$work/gauss.json"
for u in simbi_lab_a simbi_lab_b; do
    as "$u" "$simbi" plugins list > "$work/list_$u.txt" 2>&1
    grep -q "^perl.gauss .* system " "$work/list_$u.txt" || { cat "$work/list_$u.txt" >&2; fail "$u does not see the --system plugin"; }
    as "$u" "$simbi" simulate "$work/gauss.json" --at '[0, 1]' --rows 5 --out "/tmp/simbi-gauss-$u.csv" -q > /dev/null 2>&1 || fail "$u cannot run the --system plugin"
    rm -f "/tmp/simbi-gauss-$u.csv"
done
! as simbi_lab_b "$simbi" plugins remove perl.gauss@1.0.0 --system > /dev/null 2>&1 || fail "B removed a --system plugin"
"$simbi" plugins remove perl.gauss@1.0.0 --system > /dev/null || fail "root could not remove the --system plugin"
echo "two users: all checks passed"
