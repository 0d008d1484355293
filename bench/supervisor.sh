#!/usr/bin/env bash
# The supervisor, measured on the real engine, beside the engine's own restart policy:
#  1. restart latency: from a replica's exit to its restart, policy `always` and no delay, over
#     BENCH_KILLS kills (default 20): the detached supervisor that `wharf up -d` leaves against a
#     container run with `docker run --restart always` on the same image and the same project
#     network (a user-defined network costs the engine about 100 ms more per start than its
#     default bridge: it sets up its embedded DNS in the container). Both are timed on the
#     engine's own clock, from the `die` event to the `start` event, so the measurement adds
#     nothing; the wall time from the kill to `docker inspect` seeing it run is printed too.
#     Beside them, the engine's floor: one bare start API call on a stopped container on that
#     network, which every restart includes, whoever makes it;
#  2. the supervisor's memory (RSS) while it supervises 100 replicas (its keeper's beside it);
#  3. the CPU an idle supervisor and its keeper use over 10 s.
# Targets (issue 4): median restart under 300 ms; RSS under 30 MB; idle CPU under 1 %.
#
# usage: bench/supervisor.sh        (env: BENCH_KILLS, BENCH_WHARF = a wharf binary)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kills=${BENCH_KILLS:-20}   # each kill waits 10.5 s first: 20 kills take about 8 minutes
image=wharf-demo/busybox:latest

. bench/lib.sh
require_engine_and_image "$image"
wharf=$(bench_wharf)

work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-supervisor.XXXXXX")
export WHARF_STATE_DIR=$work/state
peer=wharfbench-engine-restart
floor=wharfbench-engine-start
cleanup() {
  # The engine's containers first: they sit on wharf's project network, which `down` removes.
  docker rm -f "$peer" "$floor" >/dev/null 2>&1 || true
  for p in wharfbench-sup wharfbench-sup100; do "$wharf" -p "$p" down -v >/dev/null 2>&1 || true; done
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
(cd "$work/one" && "$wharf" -p wharfbench-sup up -d >"$work/one.log" 2>&1) || die "up -d failed: $(cat "$work/one.log")"
for _ in $(seq 1 200); do [ -S "$WHARF_STATE_DIR/wharfbench-sup/control.sock" ] && break; sleep 0.1; done
[ -f "$WHARF_STATE_DIR/wharfbench-sup/supervisor.pid" ] || die "the supervisor did not start: $(cat "$work/one.log")"
network=$(docker inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}' \
  wharfbench-sup-web-1)
docker run -d --name "$peer" --network "$network" --restart always "$image" \
  sh -c "trap 'exit 0' TERM; sleep 3600 & wait" >/dev/null
docker create --name "$floor" --network "$network" "$image" \
  sh -c "trap 'exit 0' TERM; sleep 3600 & wait" >/dev/null

# The engine's floor: BENCH_KILLS starts of a stopped container, each one API call on the
# engine's socket (no CLI process in between), timed from the request to the answer.
start_floor() {
  python3 - "$1" "$kills" <<'PY'
import http.client, os, socket, subprocess, sys, time
name, runs = sys.argv[1], int(sys.argv[2])
# The engine the docker CLI talks to: DOCKER_HOST when it names a unix socket, else the default.
host = os.environ.get("DOCKER_HOST", "")
path = host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"
class Engine(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
for _ in range(runs):
    engine = Engine("localhost")
    t0 = time.monotonic()
    engine.request("POST", f"/containers/{name}/start")
    status = engine.getresponse().status
    elapsed = (time.monotonic() - t0) * 1000
    if status != 204:
        sys.exit(f"start answered {status}")
    print(f"{elapsed:.1f}")
    subprocess.run(["docker", "kill", name], capture_output=True)
    subprocess.run(["docker", "wait", name], capture_output=True)
    time.sleep(0.5)
PY
}

# Kills a container's main process from the host, as a crash would (the engine does not apply
# its own restart policy after `docker kill`, which it takes for a user's stop). Prints, per kill,
# the milliseconds from the `die` event to the next `start` event (the engine's clock), and the
# wall milliseconds from the kill until `docker inspect` sees it run again.
measure() {
  python3 - "$1" "$kills" <<'PY'
import subprocess, sys, time
name, kills = sys.argv[1], int(sys.argv[2])
def started():
    out = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}} {{.State.StartedAt}} {{.State.Pid}}", name],
                         capture_output=True, text=True).stdout.split()
    return out if len(out) == 3 else ["false", "", "0"]
def events(since, until):
    out = subprocess.run(["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                          "--filter", f"container={name}", "--filter", "event=die", "--filter", "event=start",
                          "--format", "{{.Action}} {{.TimeNano}}"], capture_output=True, text=True).stdout.split("\n")
    return [line.split() for line in out if line.strip()]
for _ in range(kills):
    running, before, pid = started()
    while running != "true":
        time.sleep(0.05); running, before, pid = started()
    # Both wharf and the engine back off on quick successive exits and reset after a 10 s run:
    # wait that long, so that each kill measures the restart itself, not a grown backoff.
    time.sleep(10.5)
    since = time.time() - 0.5
    t0 = time.monotonic()
    subprocess.run(["kill", "-KILL", pid], capture_output=True)
    deadline = t0 + 30
    while time.monotonic() < deadline:
        running, now, _ = started()
        if running == "true" and now != before:
            break
        time.sleep(0.005)
    wall = (time.monotonic() - t0) * 1000
    seen = events(since, time.time() + 1)
    die = next((int(t) for a, t in seen if a == "die"), None)
    start = next((int(t) for a, t in seen if a == "start" and die is not None and int(t) > die), None)
    engine = (start - die) / 1e6 if die and start else float("nan")
    print(f"{engine:.1f} {wall:.1f}")
PY
}
# median COLUMN: the median of one column of measure's output.
median() { python3 -c 'import statistics,sys; v=[float(l.split()[int(sys.argv[1])]) for l in sys.stdin if l.strip()]; print(f"{statistics.median(v):.1f} (min {min(v):.1f}, max {max(v):.1f}, n {len(v)})")' "$1"; }

measure wharfbench-sup-web-1 >"$work/wharf.tsv"
measure "$peer" >"$work/engine.tsv"
start_floor "$floor" >"$work/floor.tsv"
wharf_ms=$(median 0 <"$work/wharf.tsv")
engine_ms=$(median 0 <"$work/engine.tsv")
wharf_wall=$(median 1 <"$work/wharf.tsv")
engine_wall=$(median 1 <"$work/engine.tsv")
floor_ms=$(median 0 <"$work/floor.tsv")

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
(cd "$work/hundred" && "$wharf" -p wharfbench-sup100 up -d >"$work/hundred.log" 2>&1) || die "up -d of 100 replicas failed: $(tail -5 "$work/hundred.log")"
pidfile=$WHARF_STATE_DIR/wharfbench-sup100/supervisor.pid
for _ in $(seq 1 1200); do [ -f "$pidfile" ] && break; sleep 0.1; done
[ -f "$pidfile" ] || die "the 100-replica supervisor did not start"
sup=$(cut -d' ' -f1 "$pidfile")
keeper=$(cut -d' ' -f1 "$WHARF_STATE_DIR/wharfbench-sup100/keeper.pid")
sleep 2
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$sup/status")
keeper_kb=$(awk '/VmRSS/ {print $2}' "/proc/$keeper/status")
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
s0=$(ticks "$sup"); k0=$(ticks "$keeper"); sleep 10; s1=$(ticks "$sup"); k1=$(ticks "$keeper")
cpu=$(python3 -c "print(f'{($s1 - $s0) / $hz / 10 * 100:.2f}')")
keeper_cpu=$(python3 -c "print(f'{($k1 - $k0) / $hz / 10 * 100:.2f}')")
verdict() { python3 -c "import sys; print('PASS' if $1 else 'FAIL')"; }
echo
printf '%-44s %s\n' "measurement" "value"
printf '%-52s %s ms  %s\n' "die → start, wharf supervisor (median)" "$wharf_ms" "$(verdict "${wharf_ms%% *} < 300")"
printf '%-52s %s ms\n' "die → start, engine --restart always (median)" "$engine_ms"
printf '%-52s %s ms\n' "engine floor: one start API call (median)" "$floor_ms"
printf '%-52s %s\n' "ratio wharf / engine" "$(python3 -c "print(f'{${wharf_ms%% *} / ${engine_ms%% *}:.2f}')")"
printf '%-52s %s ms\n' "kill → inspect sees it run, wharf (median)" "$wharf_wall"
printf '%-52s %s ms\n' "kill → inspect sees it run, engine (median)" "$engine_wall"
printf '%-52s %s MB (keeper %s MB)  %s\n' "supervisor RSS with 100 replicas" "$((rss_kb / 1024))" "$((keeper_kb / 1024))" "$(verdict "$rss_kb + $keeper_kb < 30 * 1024")"
printf '%-52s %s %% (keeper %s %%)  %s\n' "idle supervisor CPU over 10 s" "$cpu" "$keeper_cpu" "$(verdict "$cpu + $keeper_cpu < 1")"
