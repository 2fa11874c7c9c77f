#!/usr/bin/env bash
# Deliberate breaks, one at a time, and the test that must catch each.
#
#   scripts/mutants.sh [NAME_REGEX]      (make mutants)
#
# Each scripts/mutants/*.mutant file is one break:
#
#   # why the test exists (free text)
#   file: engine/stack.go
#   find: 	return p * (1 - v.fraction)
#   replace: 	return p * (1 - v.fraction*1.01)
#   test: go test -count=1 -run 'TestStacking' ./engine/
#   needs: broker                  (optional: only run with a broker)
#
# `find` and `replace` are single lines; \n and \t in them stand for a
# newline and a tab. `find` must occur exactly once in `file` (else the mutant is stale: the
# code moved, update it); `replace` takes its place in a scratch copy of the
# work tree, `test` runs there and must fail. A mutant whose test passes
# survived: the suite cannot tell that break from the right answer.
# Mutants that need a broker run only when PROMOGUARD_TEST_BROKERS is set
# (make mutants starts one). Exit 1 when a mutant survives or is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-.}
root=$PWD
scratch=$(mktemp -d "${TMPDIR:-/tmp}/promoguard-mutants.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard | (cd "$root" && xargs -0 cp --parents -t "$scratch" 2>/dev/null) || true

field() { sed -n "s/^$2: \{0,1\}//p" "$1" | head -1; }
caught=0 survived=0 stale=0 skipped=0
for m in scripts/mutants/*.mutant; do
	name=$(basename "$m" .mutant)
	[[ $name =~ $filter ]] || continue
	file=$(field "$m" file) find=$(field "$m" find) replace=$(field "$m" replace)
	test=$(field "$m" test) needs=$(field "$m" needs)
	if [[ $needs == broker && -z ${PROMOGUARD_TEST_BROKERS:-} ]]; then
		printf '%-40s skipped (needs a broker)\n' "$name"; skipped=$((skipped + 1)); continue
	fi
	n=$(FIND="$find" python3 -c 'import os,sys; print(open(sys.argv[1]).read().count(os.environ["FIND"].encode().decode("unicode_escape")))' "$scratch/$file" 2>/dev/null || echo 0)
	if [[ $n != 1 ]]; then
		printf '%-40s STALE: find occurs %s times in %s\n' "$name" "$n" "$file"; stale=$((stale + 1)); continue
	fi
	cp "$scratch/$file" "$scratch/$file.orig"
	FIND="$find" REPL="$replace" python3 -c 'import os,sys; p=sys.argv[1]; s=open(p).read(); open(p,"w").write(s.replace(os.environ["FIND"].encode().decode("unicode_escape"), os.environ["REPL"].encode().decode("unicode_escape"), 1))' "$scratch/$file"
	log="$scratch/$name.log"
	if (cd "$scratch" && bash -c "$test") >"$log" 2>&1; then
		printf '%-40s SURVIVED: %s\n' "$name" "$test"; survived=$((survived + 1))
	else
		printf '%-40s caught\n' "$name"; caught=$((caught + 1))
	fi
	mv "$scratch/$file.orig" "$scratch/$file"
done
echo "mutants: $caught caught, $survived survived, $stale stale, $skipped skipped"
[[ $survived -eq 0 && $stale -eq 0 ]]
