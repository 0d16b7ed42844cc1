#!/usr/bin/env bash
# Load test: the real bot binary on loopback against the fake Feishu open platform
# (10,000 ACS users, 50 ms a page), driven by bin/loadgen (a mix of commands from many
# users and chats, 5% re-deliveries, some page-button clicks), once per way in: signed,
# encrypted webhook posts, then frames pushed on the long connection. For each it runs
# 200/s and 1000/s, then steps the rate up to find the highest one the machine
# sustains and runs that too. Prints markdown tables, the webhook's first.
#
#   scripts/load.sh                     # 60 s a run, both ways in
#   DURATION=20s scripts/load.sh        # quicker
#   DELIVERY=websocket scripts/load.sh  # the long connection only
#
# Environment: DELIVERY (the ways in, in order, default "webhook websocket"),
# DURATION (each main run, default 60s), RATES (the fixed rates, default "200 1000"),
# STEP_DURATION (each search step, default 15s), STEPS (the rates the search tries,
# in order, default "200 500 1000 1500 2000 3000 4000 6000 8000"; it stops at the
# first one not sustained, so it runs at most as many steps as listed).
# A step is sustained when every delivery is acked, the generator and the acks keep
# within 5% of the rate, ack p99 stays under 100 ms and the last reply comes within
# 5 s of the last send. Exits 1 if any command went unanswered or was answered twice.
set -euo pipefail
cd "$(dirname "$0")/.."

DELIVERY="${DELIVERY:-webhook websocket}"
DURATION="${DURATION:-60s}"
RATES="${RATES:-200 1000}"
STEP_DURATION="${STEP_DURATION:-15s}"
STEPS="${STEPS:-200 500 1000 1500 2000 3000 4000 6000 8000}"

go build -o bin/acsbot ./cmd/bot
go build -o bin/loadgen ./cmd/loadgen

wrong=0
row=""
report=""

# load DELIVERY RATE DURATION [FLAGS...]: one run; sets row, returns loadgen's exit code.
load() {
	local rc=0
	# The machine may be shared: each run's load average says what else it ran beside.
	echo "load.sh: $1 at $2/s for $3; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	row="$(bin/loadgen -bot bin/acsbot -delivery "$1" -rate "$2" -duration "$3" "${@:4}")" || rc=$?
	if [ "$rc" -eq 1 ]; then
		wrong=1
	fi
	if [ -z "$row" ]; then
		row="| $2 | $3 | the run failed: see its log above |"
	fi
	return "$rc"
}

# measure DELIVERY: the fixed rates, the search and the highest sustained rate by
# that way in; appends their tables to report.
measure() {
	local delivery="$1" rate rc best="" main_rows=() step_rows=()
	for rate in $RATES; do
		load "$delivery" "$rate" "$DURATION" || true
		main_rows+=("$row")
	done
	for rate in $STEPS; do
		rc=0
		load "$delivery" "$rate" "$STEP_DURATION" -sustain -settle 1s || rc=$?
		step_rows+=("$row")
		if [ "$rc" -ne 0 ]; then
			break
		fi
		best="$rate"
	done
	if [ -n "$best" ]; then
		load "$delivery" "$best" "$DURATION" || true
		main_rows+=("$row")
	else
		echo "$delivery: no step rate was sustained" >&2
	fi
	report+="
## $delivery

$(bin/loadgen -header)
$(printf '%s\n' "${main_rows[@]}")

Search for the highest sustained rate by $delivery ($STEP_DURATION a step; the highest sustained step, ${best:-none}, is the last main row):

$(bin/loadgen -header)
$(printf '%s\n' "${step_rows[@]}")
"
}

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB, $(go version | cut -d' ' -f3-)"
echo "machine: $machine; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for delivery in $DELIVERY; do
	measure "$delivery"
done

echo
echo "machine: $machine; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s' "$report"
exit "$wrong"
