#!/usr/bin/env bash
# The supervisor, measured on the real engine, beside the engine's own restart policy:
#  1. restart latency: from a kill of a replica's process to the replica running again, policy
#     `always` and no delay, over BENCH_KILLS kills (default 20): wharf's attached supervisor
#     against a container run with `docker run --restart always` on the same image;
#  2. the supervisor's memory (RSS) while it supervises 100 replicas;
#  3. the CPU an idle supervisor uses over 10 s.
# Targets (issue 4): median restart under 300 ms; RSS under 30 MB; idle CPU under 1 %.
#
# usage: bench/supervisor.sh        (env: BENCH_KILLS, BENCH_WHARF = a wharf binary)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kills=${BENCH_KILLS:-20}   # each kill waits 10.5 s first: 20 kills take about 8 minutes
image=wharf-demo/busybox:latest

die() { echo "bench: $*" >&2; exit 2; }
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer"
if ! docker image inspect "$image" >/dev/null 2>&1; then
  bash examples/images.sh || die "examples/images.sh failed"
fi
if [ -n "${BENCH_WHARF:-}" ]; then
  wharf=$(realpath "$BENCH_WHARF")
else
  cargo build --release --quiet --bin wharf || die "cargo build failed"
  wharf=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/wharf
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-supervisor.XXXXXX")
export WHARF_STATE_DIR=$work/state
peer=wharfbench-engine-restart
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for p in wharfbench-sup wharfbench-sup100; do "$wharf" -p "$p" down -v >/dev/null 2>&1 || true; done
  docker rm -f "$peer" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

sleeper='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; sleep 3600 & wait"]'

# --- 1. restart latency --------------------------------------------------------------------------
mkdir -p "$work/one"
cat >"$work/one/compose.yaml" <<EOF
services:
  web:
    image: $image
    command: $sleeper
    restart: always
EOF
(cd "$work/one" && exec "$wharf" -p wharfbench-sup up >"$work/one.log" 2>&1) &
pids+=($!)
for _ in $(seq 1 200); do [ -f "$WHARF_STATE_DIR/wharfbench-sup/supervisor.pid" ] && break; sleep 0.1; done
[ -f "$WHARF_STATE_DIR/wharfbench-sup/supervisor.pid" ] || die "the supervisor did not start: $(cat "$work/one.log")"
docker run -d --name "$peer" --restart always "$image" sh -c "trap 'exit 0' TERM; sleep 3600 & wait" >/dev/null

# Kills a container's main process from the host, as a crash would (the engine does not apply
# its own restart policy after `docker kill`, which it takes for a user's stop), and prints the
# milliseconds until the container runs again (a new StartedAt).
measure() {
  python3 - "$1" "$kills" <<'PY'
import json, subprocess, sys, time
name, kills = sys.argv[1], int(sys.argv[2])
def started():
    out = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}} {{.State.StartedAt}} {{.State.Pid}}", name],
                         capture_output=True, text=True).stdout.split()
    return out if len(out) == 3 else ["false", "", "0"]
for _ in range(kills):
    running, before, pid = started()
    while running != "true":
        time.sleep(0.05); running, before, pid = started()
    # Both wharf and the engine back off on quick successive exits and reset after a 10 s run:
    # wait that long, so that each kill measures the restart itself, not a grown backoff.
    time.sleep(10.5)
    t0 = time.monotonic()
    subprocess.run(["kill", "-KILL", pid], capture_output=True)
    deadline = t0 + 30
    while time.monotonic() < deadline:
        running, now, _ = started()
        if running == "true" and now != before:
            break
        time.sleep(0.005)
    print(round((time.monotonic() - t0) * 1000, 1))
PY
}
median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.stdin.read().split()]; print(f"{statistics.median(v):.1f} (min {min(v):.1f}, max {max(v):.1f}, n {len(v)})")'; }

wharf_ms=$(measure wharfbench-sup-web-1 | median)
engine_ms=$(measure "$peer" | median)

# --- 2. memory with 100 replicas, 3. idle CPU -----------------------------------------------------
mkdir -p "$work/hundred"
cat >"$work/hundred/compose.yaml" <<EOF
services:
  many:
    image: $image
    command: $sleeper
    restart: always
    deploy:
      replicas: 100
EOF
(cd "$work/hundred" && exec "$wharf" -p wharfbench-sup100 up >"$work/hundred.log" 2>&1) &
pids+=($!)
pidfile=$WHARF_STATE_DIR/wharfbench-sup100/supervisor.pid
for _ in $(seq 1 1200); do [ -f "$pidfile" ] && break; sleep 0.1; done
[ -f "$pidfile" ] || die "the 100-replica supervisor did not start: $(tail -5 "$work/hundred.log")"
sup=$(cut -d' ' -f1 "$pidfile")
sleep 2
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$sup/status")
ticks() { awk '{print $14 + $15}' "/proc/$sup/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); sleep 10; t1=$(ticks)
cpu=$(python3 -c "print(f'{($t1 - $t0) / $hz / 10 * 100:.2f}')")

verdict() { python3 -c "import sys; print('PASS' if $1 else 'FAIL')"; }
echo
printf '%-44s %s\n' "measurement" "value"
printf '%-44s %s ms  %s\n' "restart after kill, wharf supervisor (median)" "$wharf_ms" "$(verdict "${wharf_ms%% *} < 300")"
printf '%-44s %s ms\n' "restart after kill, engine --restart always" "$engine_ms"
printf '%-44s %s MB  %s\n' "supervisor RSS with 100 replicas" "$((rss_kb / 1024))" "$(verdict "$rss_kb < 30 * 1024")"
printf '%-44s %s %%  %s\n' "idle supervisor CPU over 10 s" "$cpu" "$(verdict "$cpu < 1")"
