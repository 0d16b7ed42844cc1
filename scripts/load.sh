#!/usr/bin/env bash
# Load test: the real bot binary on loopback against the fake Feishu open platform
# (10,000 ACS users, 50 ms a page), driven by bin/loadgen with signed, encrypted
# events (a mix of commands from many users and chats, 5% re-deliveries, some
# page-button clicks). Runs 200/s and 1000/s, then steps the rate up to find the
# highest one the machine sustains and runs that too. Prints markdown tables.
#
#   scripts/load.sh                     # 60 s a run
#   DURATION=20s scripts/load.sh        # quicker
#
# Environment: DURATION (each main run, default 60s), RATES (the fixed rates,
# default "200 1000"), STEP_DURATION (each search step, default 15s), STEPS (the
# rates the search tries, in order, default "200 500 1000 1500 2000 3000 4000 6000 8000").
# A step is sustained when every delivery is acked, the generator and the acks keep
# within 5% of the rate, ack p99 stays under 100 ms and the last reply comes within
# 5 s of the last send. Exits 1 if any command went unanswered or was answered twice.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-60s}"
RATES="${RATES:-200 1000}"
STEP_DURATION="${STEP_DURATION:-15s}"
STEPS="${STEPS:-200 500 1000 1500 2000 3000 4000 6000 8000}"

go build -o bin/acsbot ./cmd/bot
go build -o bin/loadgen ./cmd/loadgen

wrong=0
main_rows=()
step_rows=()
row=""

# load RATE DURATION [FLAGS...]: one run; sets row, returns loadgen's exit code.
load() {
	local rc=0
	row="$(bin/loadgen -bot bin/acsbot -rate "$1" -duration "$2" "${@:3}")" || rc=$?
	if [ "$rc" -eq 1 ]; then
		wrong=1
	fi
	if [ -z "$row" ]; then
		row="| $1 | $2 | the run failed: see its log above |"
	fi
	return "$rc"
}

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB, $(go version | cut -d' ' -f3-)"
echo "machine: $machine; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for rate in $RATES; do
	load "$rate" "$DURATION" || true
	main_rows+=("$row")
done

best=""
for rate in $STEPS; do
	rc=0
	load "$rate" "$STEP_DURATION" -sustain -settle 1s || rc=$?
	step_rows+=("$row")
	if [ "$rc" -ne 0 ]; then
		break
	fi
	best="$rate"
done

if [ -n "$best" ]; then
	load "$best" "$DURATION" || true
	main_rows+=("$row")
else
	echo "no step rate was sustained" >&2
fi

echo
echo "machine: $machine; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
bin/loadgen -header
printf '%s\n' "${main_rows[@]}"
echo
echo "Search for the highest sustained rate ($STEP_DURATION a step; the highest sustained step, ${best:-none}, is the last main row):"
echo
bin/loadgen -header
printf '%s\n' "${step_rows[@]}"
exit "$wrong"
