#!/usr/bin/env bash
# Proves a change leaves every output byte-identical: replays the example
# week and six generated streams (different seeds, shapes and channel counts)
# through the promoguard of a base revision and through the work tree, and
# compares the output records byte for byte.
#
#   scripts/compare-outputs.sh [BASE_REV]     (default: origin/main, else HEAD~1)
#
# The horizon is fixed at 30d so a change of the default horizon does not
# show up as a difference. Exit 0 when every output is identical, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-$(git rev-parse --verify -q origin/main || git rev-parse HEAD~1)}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add -q --detach "$work/base" "$base"
(cd "$work/base" && go build -o "$work/old" ./cmd/promoguard)
go build -o "$work/new" ./cmd/promoguard

# name skus events channels shape seed
streams="s1 2000 40000 3 steady 1
s2 3000 40000 5 ramp 2
s3 2000 40000 3 burst 3
s4 500 30000 2 steady 4
s5 4000 50000 4 burst 5
s6 1500 40000 3 ramp 6"

fail=0
compare() { # name, replay args...
	local name=$1; shift
	"$work/old" replay --quiet --horizon 30d "$@" >"$work/$name.old" 2>/dev/null || true
	"$work/new" replay --quiet --horizon 30d "$@" >"$work/$name.new" 2>/dev/null || true
	if cmp -s "$work/$name.old" "$work/$name.new"; then
		printf '%-14s identical  %8d records  sha256 %s\n' "$name" "$(wc -l <"$work/$name.new")" "$(sha256sum <"$work/$name.new" | cut -c1-16)"
	else
		printf '%-14s DIFFERENT\n' "$name"; diff "$work/$name.old" "$work/$name.new" | head -20; fail=1
	fi
}
compare example --rules examples/rules examples/events/black-friday.ndjson
while read -r name skus events channels shape seed; do
	"$work/new" gen --quiet --skus "$skus" --events "$events" --channels "$channels" --shape "$shape" --seed "$seed" -o "$work/$name.ndjson"
	compare "$name" --rules examples/rules "$work/$name.ndjson"
done <<<"$streams"
exit $fail
