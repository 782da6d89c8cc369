#!/usr/bin/env bash
# Builds ringpipe at an old commit beside the working tree and runs the ringpipe cells of
# bench_report over both, interleaved run by run, each run in a fresh process; reports new ÷ old
# per cell.
#
#   bash benches/baseline/run.sh <old-commit> [--quick] [--reps N] [--only spin,blocking,async,x2,mt2,ct1,pingpong]
#                                             [--sizes 64,1K,16K] [--caps 64K,1M] [--trips N] [--in-process]
#
# --in-process: all runs in one process, as before isolation (biased: see benches/README.md).
#
# "old" is <old-commit> as committed; "new" is the working tree as it is now (uncommitted
# changes included). The report goes to target/ringpipe-bench/baseline.md and is printed.
#
# How: `git archive <old-commit>` is unpacked into target/ringpipe-base/ (inside target/, so it
# is never committed), its Cargo.toml renamed to the package `ringpipe_base` and stripped of
# what only the root workspace needs ([workspace], dev-dependencies, [[bench]]/[[example]]/
# [[test]], [profile.*]); the package benches/baseline/ (a workspace of its own) depends on
# both `ringpipe` (../..) and `ringpipe_base` and is built with the root's [profile.release].
#
# Environment: CARGO_TARGET_DIR (default target/baseline), CARGO, RUSTFLAGS as usual.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit $(($# < 1))
fi
old=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
cargo=${CARGO:-cargo}

sha=$(git -C "$root" rev-parse --verify --quiet "$old^{commit}") || {
    echo "run.sh: '$old' is not a commit of $root" >&2
    exit 2
}
base=$root/target/ringpipe-base
marker=$base/.ringpipe-base-commit

# 1. The old commit's sources (re-extracted only when the commit changes).
if [[ ! -f $marker || $(cat "$marker") != "$sha" ]]; then
    echo "run.sh: extracting $sha into target/ringpipe-base" >&2
    rm -rf "$base"
    mkdir -p "$base"
    # -m: files get the current time, not the commit's, so that cargo never takes an older
    # commit's sources for the previous build's (its freshness check compares mtimes).
    git -C "$root" archive --format=tar "$sha" | tar -x -m -C "$base"
    # The package becomes `ringpipe_base` (crate `ringpipe_base`); the sections that only make
    # sense at the root of the workspace go: [workspace*], [dev-dependencies*] (also per
    # target), [[bench]], [[example]], [[test]], [profile*], [badges]; an explicit [lib] name
    # goes too.
    awk '
        /^[[:space:]]*\[/ {
            h = $0
            sub(/#.*/, "", h)
            gsub(/[[:space:]]/, "", h)
            sect = h
            skip = (h ~ /^\[workspace(\..*)?\]$/ || h ~ /dev-dependencies/ ||
                    h ~ /^\[\[(bench|example|test)\]\]$/ || h ~ /^\[profile(\..*)?\]$/ ||
                    h ~ /^\[badges\]$/)
        }
        skip { next }
        sect == "[package]" && /^[[:space:]]*name[[:space:]]*=/ { print "name = \"ringpipe_base\""; next }
        sect == "[lib]" && /^[[:space:]]*name[[:space:]]*=/ { next }
        { print }
    ' "$base/Cargo.toml" >"$base/Cargo.toml.new"
    mv "$base/Cargo.toml.new" "$base/Cargo.toml"
    rm -f "$base/Cargo.lock"
    echo "$sha" >"$marker"
fi

# 2. The root's release profile, passed on the command line (benches/baseline/Cargo.toml
# repeats it, but the root is the reference: lto, codegen-units, ... follow it here).
profile_args=()
while IFS= read -r kv; do
    [[ -n $kv ]] && profile_args+=(--config "profile.release.$kv")
done < <(awk '
    /^[[:space:]]*\[/ { h = $0; sub(/#.*/, "", h); gsub(/[[:space:]]/, "", h); inrel = (h == "[profile.release]"); next }
    inrel && /=/ { l = $0; sub(/[[:space:]]#.*/, "", l); gsub(/^[[:space:]]+|[[:space:]]+$/, "", l); sub(/[[:space:]]*=[[:space:]]*/, "=", l); print l }
' "$root/Cargo.toml")

# 3. The same dependency versions as the root (its lock file; cargo adds the two path packages).
cp "$root/Cargo.lock" "$here/Cargo.lock"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/baseline}
echo "run.sh: building (target dir $CARGO_TARGET_DIR; root release profile: ${profile_args[*]:-(none)})" >&2
"$cargo" build --release --manifest-path "$here/Cargo.toml" "${profile_args[@]}"

new_desc="working tree at $(git -C "$root" rev-parse --short=12 HEAD)"
if [[ -n $(git -C "$root" status --porcelain -- src Cargo.toml) ]]; then
    new_desc+=" + uncommitted changes in src/ or Cargo.toml"
fi
export RINGPIPE_BASELINE_OLD="$(git -C "$root" log -1 --format='%h %<(72,trunc)%s' "$sha")"
export RINGPIPE_BASELINE_OLD_ARG="$(git -C "$root" rev-parse --short=12 "$sha")"
export RINGPIPE_BASELINE_NEW="$new_desc"
export RINGPIPE_BASELINE_PROFILE="${profile_args[*]:-}"
exec "$CARGO_TARGET_DIR/release/ringpipe-baseline" "$@"
