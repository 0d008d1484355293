#!/usr/bin/env bash
# The detached supervisor at scale (issue #17), on the real engine:
#  1. its memory (RSS) and idle CPU over 10 s while it supervises BENCH_REPLICAS replicas
#     (default 1000) of one service (its keeper beside it);
#  2. 50 replicas (BENCH_KILLED) killed at once: the time from the kills until all 50 run again,
#     medians of BENCH_RUNS (default 3), beside the engine's floor: the same number of stopped
#     containers of a compose v2 project on the same image and a network of its own, started at
#     once straight on the engine's socket (bench/floor.py start); and beside it the floor of a
#     restart: the same containers running, killed at once, each started again as soon as its
#     kill returned (bench/floor.py restart), which pays the engine's clean-up after 50 exits as
#     the supervisor must, and which no restarter can beat.
# The service's restart policy is one only wharf's supervisor applies (`deploy.restart_policy`
# with a `delay`, which the engine cannot express), so that the supervisor does the restarts,
# not the engine's own policy.
# Targets: RSS under 60 MB, idle CPU under 1 %, the 50 back within 1.2x the start floor (issue
# #17's wording; the restart floor shows how much of that the engine leaves to a restarter).
#
# usage: bench/supervisor_scale.sh   (env: BENCH_REPLICAS, BENCH_KILLED, BENCH_RUNS, BENCH_WHARF)
# Bringing 1000 replicas up takes the engine several minutes on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
replicas=${BENCH_REPLICAS:-1000}
killed=${BENCH_KILLED:-50}
runs=${BENCH_RUNS:-3}
image=wharf-demo/busybox:latest
project=wharfbench-scale-$$
floor=wharfbench-scale-floor-$$

. bench/lib.sh
require_engine_and_image "$image"
wharf=$(bench_wharf)
socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
case $socket in unix://*) socket=${socket#unix://} ;; *) die "the floor needs a unix socket, not DOCKER_HOST=$socket" ;; esac
[ "$killed" -le "$replicas" ] || die "BENCH_KILLED ($killed) is more than BENCH_REPLICAS ($replicas)"

work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-scale.XXXXXX")
export WHARF_STATE_DIR=$work/state
cleanup() {
  "$wharf" -p "$project" -f "$work/compose.yaml" down -v -t 1 >/dev/null 2>&1 || true
  docker compose -p "$floor" -f "$work/floor.yaml" down -v -t 1 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

sleeper='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; sleep 3600 & wait"]'
cat >"$work/compose.yaml" <<EOF
services:
  many:
    image: $image
    command: $sleeper
    deploy:
      replicas: $replicas
      restart_policy: {condition: any, delay: 10ms}
EOF
cat >"$work/floor.yaml" <<EOF
services:
  many:
    image: $image
    command: $sleeper
    deploy:
      replicas: $killed
EOF

running() {
  docker ps -q --filter "label=com.docker.compose.project=$1" --filter status=running | wc -l
}
wait_running() { # PROJECT COUNT LIMIT_SECONDS
  local deadline=$((SECONDS + $3))
  until [ "$(running "$1")" -ge "$2" ]; do
    [ $SECONDS -lt $deadline ] || die "$1: fewer than $2 containers run after $3 s"
    sleep 0.05
  done
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

echo "bench: wharf up -d with $replicas replicas (this takes a while)"
start=$EPOCHREALTIME
"$wharf" -p "$project" -f "$work/compose.yaml" up -d >"$work/up.log" 2>&1 ||
  { tail -n 20 "$work/up.log"; die "wharf up -d failed"; }
wait_running "$project" "$replicas" 600
echo "bench: up -d of $replicas replicas took $(ms_since "$start") ms"

supervisor=$(cat "$WHARF_STATE_DIR"/*/supervisor.pid 2>/dev/null | head -n 1 | cut -d' ' -f1)
keeper=$(cat "$WHARF_STATE_DIR"/*/keeper.pid 2>/dev/null | head -n 1 | cut -d' ' -f1)
[ -n "$supervisor" ] && [ -d "/proc/$supervisor" ] || die "no supervisor pid under $WHARF_STATE_DIR"
sleep 5 # let the supervisor settle after the up
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks "$supervisor")
sleep 10
after=$(ticks "$supervisor")
cpu=$(awk -v a="$before" -v b="$after" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 10 * 100 }')
rss=$(rss_kb "$supervisor")
rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
keeper_mb=$([ -n "$keeper" ] && awk -v k="$(rss_kb "$keeper")" 'BEGIN { printf "%.1f", k / 1024 }' || echo "-")

# Each run times the two floors and then wharf, back to back, so that a ratio compares
# figures taken under the same load of the machine.
echo "bench: $runs runs of: the floors ($killed stopped containers started at once, then killed"
echo "bench: and started again), then $killed of wharf's replicas killed at once"
docker compose -p "$floor" -f "$work/floor.yaml" up --no-start >"$work/floor.log" 2>&1 ||
  die "docker compose up --no-start failed"
floors=()
restart_floors=()
restarts=()
for _ in $(seq "$runs"); do
  floors+=("$(python3 bench/floor.py "$socket" start "$floor")")
  wait_running "$floor" "$killed" 120
  restart_floors+=("$(python3 bench/floor.py "$socket" restart "$floor")")
  wait_running "$floor" "$killed" 120
  docker compose -p "$floor" -f "$work/floor.yaml" stop -t 1 >>"$work/floor.log" 2>&1
  mapfile -t victims < <(docker ps -q --filter "label=com.docker.compose.project=$project" \
    --filter status=running | head -n "$killed")
  start=$EPOCHREALTIME
  docker kill "${victims[@]}" >/dev/null
  wait_running "$project" "$replicas" 300
  restarts+=("$(ms_since "$start")")
  echo "bench: run: start floor ${floors[-1]} ms, restart floor ${restart_floors[-1]} ms," \
    "wharf ${restarts[-1]} ms, load $(cut -d' ' -f1 /proc/loadavg)"
  sleep 2
done
floor_ms=$(printf '%s\n' "${floors[@]}" | median)
restart_floor_ms=$(printf '%s\n' "${restart_floors[@]}" | median)
restart_ms=$(printf '%s\n' "${restarts[@]}" | median)

verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "PASS" : "FAIL") }'; }
ratio=$(awk -v a="$restart_ms" -v b="$floor_ms" 'BEGIN { printf "%.2f", a / b }')
restart_ratio=$(awk -v a="$restart_ms" -v b="$restart_floor_ms" 'BEGIN { printf "%.2f", a / b }')
echo
echo "replicas supervised          $replicas"
echo "supervisor RSS               $rss_mb MB (keeper $keeper_mb MB)  target < 60 MB   $(verdict "$(awk -v r="$rss_mb" 'BEGIN { print r < 60 }')")"
echo "supervisor idle CPU (10 s)   $cpu %  target < 1 %   $(verdict "$(awk -v c="$cpu" 'BEGIN { print c < 1 }')")"
echo "$killed killed, all back       median $restart_ms ms (runs: ${restarts[*]})"
echo "engine floor ($killed starts)    median $floor_ms ms (runs: ${floors[*]})"
echo "engine restart floor         median $restart_floor_ms ms (runs: ${restart_floors[*]})"
echo "ratio to the start floor     ${ratio}x  target <= 1.2x   $(verdict "$(awk -v r="$ratio" 'BEGIN { print r <= 1.2 }')")"
echo "ratio to the restart floor   ${restart_ratio}x"
echo "load average                 $(cut -d' ' -f1-3 /proc/loadavg)"
