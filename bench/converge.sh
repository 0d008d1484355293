#!/usr/bin/env bash
# Times wharf against Debian's docker-compose 1.29 converging the same project on the real Docker
# Engine. The project (bench/gen_converge.py) has 20 services on wharf-demo/busybox with
# dependency chains, two networks and two named volumes. Each tool gets its own project name
# (-p), so the two never touch each other's containers. For each of BENCH_RUNS runs (default 5)
# and each tool, in turn:
#
#   cold up      `up -d` from nothing (before it: `down -v`, untimed)
#   unchanged up `up -d` again on the running, unchanged project
#   ps           `ps`
#   down         `down` (then `down -v`, untimed, so that the next run starts from nothing)
#
# and, once per run, the engine's floor: docker-compose creates the project without starting it
# (`up --no-start`, untimed), then every container is started at once straight through the API,
# in no order, with no client in between. No tool's cold `up` can start the same containers in
# less; the summary says how far above it each tool's cold `up` is.
#
# It prints each tool's median per step, the ratio wharf/docker-compose, and PASS/FAIL against
# the targets: cold up <= 0.8x, unchanged up <= 0.1x and under 100 ms, ps <= 0.1x,
# down <= 0.8x. Everything the benchmark made is removed at the end, also when it fails or is
# interrupted. Exit status: 0 when every target is met (or BENCH_ONLY_PEER is set), 1 when one is
# missed, 2 when the benchmark could not run.
#
# Environment:
#   BENCH_RUNS=5         runs per step (the median is reported)
#   BENCH_SERVICES=20    services in the generated project
#   BENCH_ONLY_PEER=1    time docker-compose alone (no wharf; no verdicts)
#   BENCH_WHARF=PATH     time this binary instead of building target/release/wharf
#   BENCH_PROJECT=NAME   prefix of the project names (default wharfbench): NAME-wharf, NAME-dc,
#                        and NAME-floor for the engine's floor
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
runs=${BENCH_RUNS:-5}
services=${BENCH_SERVICES:-20}
only_peer=${BENCH_ONLY_PEER:-}
prefix=${BENCH_PROJECT:-wharfbench}
image="wharf-demo/busybox:latest"

. bench/lib.sh
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

case $runs in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $services in '' | *[!0-9]* | 0) die "BENCH_SERVICES must be a positive integer" ;; esac
command -v python3 >/dev/null || die "python3 is required"
command -v docker >/dev/null || die "the docker CLI is not installed"
command -v docker-compose >/dev/null || die "docker-compose (Debian's 1.29) is not on PATH"
command -v curl >/dev/null || die "curl is required (the engine's floor is timed with it)"
require_engine_and_image "$image"

# --- the binary -------------------------------------------------------------------------------
wharf=
if [ -z "$only_peer" ]; then
  wharf=$(bench_wharf)
  "$wharf" up --help >/dev/null 2>&1 || die "'wharf up' is not available in $wharf"
fi

# --- the project and the tools ------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-converge.XXXXXX")
python3 "$root/bench/gen_converge.py" "$services" "$work/project"
file=$work/project/compose.yaml
log=$work/commands.log

tools=()
[ -n "$only_peer" ] || tools+=(wharf)
tools+=(dc)
declare -A project label
project[wharf]=$prefix-wharf
project[dc]=$prefix-dc
floor=$prefix-floor
label[wharf]=wharf
label[dc]=docker-compose

# cli TOOL ARGS...: runs the tool on its own project.
cmd_of() {
  case $1 in
    wharf) cmd=("$wharf" -p "${project[wharf]}" -f "$file") ;;
    dc) cmd=(docker-compose -p "${project[dc]}" -f "$file") ;;
  esac
}
cli() {
  local cmd
  cmd_of "$1"
  shift
  "${cmd[@]}" "$@"
}

# by_label KIND PROJECT: IDs of the containers/networks/volumes that carry the project's label.
by_label() {
  local filter=label=com.docker.compose.project=$2
  case $1 in
    containers) docker ps -aq --filter "$filter" ;;
    networks) docker network ls -q --filter "$filter" ;;
    volumes) docker volume ls -q --filter "$filter" ;;
  esac
}

# purge PROJECT: removes whatever is left of the project, whichever tool made it.
purge() {
  local p=$1
  by_label containers "$p" | xargs -r docker rm -f -v >/dev/null 2>&1 || true
  by_label networks "$p" | xargs -r docker network rm >/dev/null 2>&1 || true
  by_label volumes "$p" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
  # Anything named after the project but without labels (a tool that failed half-way).
  docker ps -aq --filter "name=^${p}[-_]" | xargs -r docker rm -f -v >/dev/null 2>&1 || true
  docker network ls -q --filter "name=^${p}_" | xargs -r docker network rm >/dev/null 2>&1 || true
  docker volume ls -q --filter "name=^${p}_" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
}

cleanup() {
  local status=$? tool
  trap - EXIT INT TERM
  for tool in "${tools[@]}"; do
    local cmd
    cmd_of "$tool"
    timeout 120 "${cmd[@]}" down -v >/dev/null 2>&1 </dev/null || true
    purge "${project[$tool]}"
  done
  purge "$floor"
  local left=""
  for tool in "${tools[@]}"; do
    left+=$(by_label containers "${project[$tool]}")$(by_label networks "${project[$tool]}")$(by_label volumes "${project[$tool]}")
  done
  [ -z "$left" ] || echo "bench: WARNING: could not remove everything of ${project[*]}" >&2
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
# On an interrupt, stop the tool's command that is running (it would go on creating containers
# behind the cleanup's back), then clean up.
interrupted() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$1"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

# step TOOL NAME ARGS...: runs the tool's command and sets `elapsed` to its time in ms. Stops the
# benchmark, showing the command's output, when the command fails. The command runs in the
# background so that an interrupt reaches the trap at once (which then stops the command).
child=
step() {
  local tool=$1 name=$2 start status=0 cmd
  shift 2
  cmd_of "$tool"
  echo "### ${label[$tool]} $name: $*" >>"$log"
  start=$EPOCHREALTIME
  "${cmd[@]}" "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  wait "$child" || status=$?
  elapsed=$(ms_since "$start")
  child=
  if [ "$status" -ne 0 ]; then
    echo "bench: '${label[$tool]} -p ${project[$tool]} $*' ($name) failed; its output:" >&2
    awk -v m="### ${label[$tool]} $name: $*" 'index($0, m) == 1 { found = 1; next } found' "$log" |
      tail -n 30 | sed 's/^/    /' >&2
    exit 2
  fi
  printf '%s\t%s\t%s\n' "$tool" "$name" "$elapsed" >>"$work/times.tsv"
}

# expect TOOL N: the project has N running containers (a sanity check that the tool did its job).
expect_running() {
  local tool=$1 want=$2 have
  have=$(docker ps -q --filter "label=com.docker.compose.project=${project[$tool]}" | wc -l)
  [ "$have" -eq "$want" ] ||
    die "${label[$tool]}: $have containers of ${project[$tool]} are running, expected $want"
}

expect_gone() {
  local tool=$1 have
  have=$(by_label containers "${project[$tool]}" | wc -l)
  [ "$have" -eq 0 ] || die "${label[$tool]}: $have containers of ${project[$tool]} remain after down"
}

echo "bench: $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), \
$(docker version --format 'Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})')"
[ -z "$wharf" ] || echo "bench: wharf $wharf"
echo "bench: project of $services services ($file), $runs runs, projects: $(for t in "${tools[@]}"; do printf '%s ' "${project[$t]}"; done)"
[ -z "$only_peer" ] || echo "bench: BENCH_ONLY_PEER is set: docker-compose alone, no verdicts"

# engine_floor: sets `elapsed` to the time the engine takes to start the project's containers,
# made beforehand, all at once. curl talks to the engine's socket, as the tools do.
engine_floor() {
  local socket=${DOCKER_HOST:-unix:///var/run/docker.sock} start ids
  case $socket in unix://*) ;; *) die "the engine's floor needs a unix socket, not DOCKER_HOST=$socket" ;; esac
  purge "$floor"
  docker-compose -p "$floor" -f "$file" up --no-start >>"$log" 2>&1 </dev/null ||
    die "docker-compose up --no-start failed (see $log)"
  ids=$(by_label containers "$floor")
  start=$EPOCHREALTIME
  echo "$ids" |
    xargs -P "$services" -I{} curl -sf -o /dev/null --unix-socket "${socket#unix://}" \
      -X POST "http://localhost/containers/{}/start" ||
    die "the engine did not start the floor's containers"
  elapsed=$(ms_since "$start")
  [ "$(docker ps -q --filter "label=com.docker.compose.project=$floor" | wc -l)" -eq "$services" ] ||
    die "the floor's containers are not all running"
  purge "$floor"
  printf 'floor\tcold up\t%s\n' "$elapsed" >>"$work/times.tsv"
}

# Start from nothing, also after an earlier run that was killed.
for tool in "${tools[@]}"; do purge "${project[$tool]}"; done
purge "$floor"
: >"$work/times.tsv"

for run in $(seq 1 "$runs"); do
  # Alternate which tool goes first, so that neither always meets the engine in the same state.
  order=("${tools[@]}")
  if [ $((run % 2)) -eq 0 ] && [ ${#tools[@]} -eq 2 ]; then order=("${tools[1]}" "${tools[0]}"); fi
  for tool in "${order[@]}"; do
    cli "$tool" down -v >>"$log" 2>&1 </dev/null || true
    purge "${project[$tool]}"
    step "$tool" "cold up" up -d
    cold=$elapsed
    expect_running "$tool" "$services"
    step "$tool" "unchanged up" up -d
    again=$elapsed
    expect_running "$tool" "$services"
    step "$tool" ps ps
    ps=$elapsed
    step "$tool" down down
    down=$elapsed
    expect_gone "$tool"
    cli "$tool" down -v >>"$log" 2>&1 </dev/null || true
    printf 'bench: run %d/%d %-15s cold up %8.1f ms   unchanged up %7.1f ms   ps %7.1f ms   down %8.1f ms\n' \
      "$run" "$runs" "${label[$tool]}" "$cold" "$again" "$ps" "$down"
  done
  engine_floor
  printf 'bench: run %d/%d %-15s starts  %8.1f ms\n' "$run" "$runs" "engine floor" "$elapsed"
done

# --- summary ----------------------------------------------------------------------------------
python3 - "$work/times.tsv" "$runs" "${only_peer:+1}" <<'EOF'
import statistics
import sys

path, runs, only_peer = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
times = {}
for line in open(path):
    tool, step, ms = line.rstrip("\n").split("\t")
    times.setdefault((tool, step), []).append(float(ms))

def median(tool, step):
    return statistics.median(times[(tool, step)])

def print_floor(tools):
    floor = median("floor", "cold up")
    print()
    print(f"engine floor: {floor:.1f} ms to start the project's containers all at once, made beforehand;")
    above = (f"{name} +{median(tool, 'cold up') - floor:.1f} ms" for tool, name in tools)
    print("cold up above it: " + ", ".join(above))

# step, ratio limit, absolute limit in ms (or None)
targets = [("cold up", 0.8, None), ("unchanged up", 0.1, 100.0), ("ps", 0.1, None), ("down", 0.8, None)]
print()
if only_peer:
    print(f"{'step (median of ' + runs + ')':<28} {'docker-compose ms':>18}")
    for step, _, _ in targets:
        print(f"{step:<28} {median('dc', step):>18.1f}")
    print_floor([("dc", "docker-compose")])
    sys.exit(0)

print(f"{'step (median of ' + runs + ')':<28} {'wharf ms':>10} {'docker-compose ms':>18} {'ratio':>7}  {'target':<22} verdict")
failed = 0
for step, limit, absolute in targets:
    w, d = median("wharf", step), median("dc", step)
    ratio = w / d
    ok = ratio <= limit and (absolute is None or w < absolute)
    target = f"<= {limit}x" + (f" and < {absolute:.0f} ms" if absolute else "")
    failed += not ok
    print(f"{step:<28} {w:>10.1f} {d:>18.1f} {ratio:>7.3f}  {target:<22} {'PASS' if ok else 'FAIL'}")
print_floor([("wharf", "wharf"), ("dc", "docker-compose")])
print()
print("PASS: every target met" if not failed else f"FAIL: {failed} of {len(targets)} targets missed")
sys.exit(1 if failed else 0)
EOF
