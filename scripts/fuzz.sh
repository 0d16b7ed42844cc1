#!/usr/bin/env bash
# Fuzzes every fuzz target in the module, one after another, for FUZZTIME each
# (default 60s; any -fuzztime value, e.g. FUZZTIME=10s or FUZZTIME=5000x).
# Stops at the first failure and says where the failing input was written and
# how to replay it. New corpus entries the fuzzer finds stay in Go's cache
# (go env GOCACHE)/fuzz, not in the tree.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}

# Each target as "package-dir target", from the test files that declare one.
targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(' . |
	sed -E 's|^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($|\1 \2|' | sort -u)
if [[ -z $targets ]]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

# Go minimizes every input that finds new coverage for up to -fuzzminimizetime
# (default 60s), and fuzzing stalls meanwhile: with the default, command's
# FuzzParse found 5 new inputs in 60s; with 5s, 66 in 30s. The same bound applies
# to minimizing a failing input, which stays reproducible, if less minimal.
minimize=5s

log=$(mktemp)
trap 'rm -f "$log"' EXIT

while read -r dir name; do
	echo "== $name in ./$dir for $fuzztime"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "./$dir" 2>&1 | tee "$log"; then
		echo
		echo "fuzz.sh: $name in ./$dir failed." >&2
		input=$(sed -nE 's|.*Failing input written to (testdata/fuzz/[^ ]+).*|\1|p' "$log" | tail -n 1)
		if [[ -n $input ]]; then
			echo "fuzz.sh: failing input: $dir/$input" >&2
			echo "fuzz.sh: replay: go test -run '^${name}/${input##*/}\$' ./$dir" >&2
		else
			echo "fuzz.sh: no failing input was written (a build or setup failure?); see the output above." >&2
		fi
		exit 1
	fi
done <<<"$targets"
echo "fuzz.sh: every target ran $fuzztime without a failure."
