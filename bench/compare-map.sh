#!/usr/bin/env bash
# Side-by-side: `conflux bench map` against bare lua5.4 + lua-cjson on the same map and input.
# usage: bench/compare-map.sh [SECONDS]   (run from the repository root after `swift build -c release`)
set -euo pipefail
seconds=${1:-5}
conflux=${CONFLUX:-.build/release/conflux}
baseline=$(lua5.4 bench/cjson_baseline.lua bench/appointment_map.lua bench/appointment.json "$seconds" | tail -n 1 | awk '{print $2}')
ours_output=$("$conflux" bench map bench/appointment_map.lua bench/appointment.json --seconds "$seconds" --compare-limits-off)
echo "$ours_output"
ours=$(echo "$ours_output" | tail -n 1 | awk '{print $2}')
echo "baseline (lua5.4 + lua-cjson): $baseline msgs/s"
awk -v o="$ours" -v b="$baseline" 'BEGIN { printf "ratio conflux / baseline: %.2fx\n", o / b }'
