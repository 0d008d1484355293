#!/usr/bin/env bash
# Times `wharf --target swarm up -d` against `docker stack deploy --detach=false` deploying the
# same compose file on a 3-node lab swarm (examples/swarm-lab.sh), with the swarm's floor beside
# them (bench/swarm_floor.py: the network and service creates straight on the manager's API,
# timed until every task runs).
#
# usage: bench/swarm_deploy.sh [--services N] [--replicas N] [--runs N]
#
# The file has N services (default 5) of wharf-demo/busybox sleepers, each with REPLICAS tasks
# (default 2) and `endpoint_mode: dnsrr` (no IPVS on this kind of host), on the default network:
# nothing stack deploy refuses. For each run, each tool deploys its own stack (a name per tool
# and run: an overlay network made again under a name just removed leaves tasks starting for a
# while), then:
#   cold up      the deploy from nothing, to converged: wharf's `up -d` returns once every task
#                runs on its spec and has for 5 s; `stack deploy --detach=false` once every
#                service's tasks run and have for 5 s (the docker CLI's stability delay)
#   unchanged    the same deploy again on the converged stack: wharf changes nothing; stack
#                deploy updates every service and waits for each again
# then the stack is removed (untimed) and its networks waited for. stack deploy gets
# `--resolve-image never`: the image is on no registry, and wharf does not resolve an image it
# does not build either. The medians of the runs and the ratios are printed side by side.
#
# Environment (the flags win):
#   BENCH_SERVICES=5 BENCH_REPLICAS=2 BENCH_RUNS=3
#   BENCH_WHARF=PATH          time this binary instead of building target/release/wharf
#   BENCH_DOCKER_HOST=URL     a swarm manager (unix socket) to use instead of starting a lab;
#                             it needs wharf-demo/busybox on every node
#   BENCH_PROJECT=NAME        prefix of the stacks' names (default swbench)
set -euo pipefail

cd "$(dirname "$0")/.."
services=${BENCH_SERVICES:-5}
replicas=${BENCH_REPLICAS:-2}
runs=${BENCH_RUNS:-3}
prefix=${BENCH_PROJECT:-swbench}
image="wharf-demo/busybox:latest"
lab_name=$prefix-lab

. bench/lib.sh
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

while [ $# -gt 0 ]; do
  case $1 in
    --services) services=${2:?--services takes a value}; shift 2 ;;
    --replicas) replicas=${2:?--replicas takes a value}; shift 2 ;;
    --runs) runs=${2:?--runs takes a value}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for value in "$services" "$replicas" "$runs"; do
  case $value in '' | *[!0-9]* | 0) die "counts must be positive integers, not '$value'" ;; esac
done
command -v python3 >/dev/null || die "python3 is required"
require_engine_and_image "$image"
wharf=$(bench_wharf)

work=$(mktemp -d)
started_lab=no
# The lab's containers are the shared engine's: DOCKER_HOST names the manager once it is up.
shared_docker_host=${DOCKER_HOST-}
cleanup() {
  if [ -n "$shared_docker_host" ]; then export DOCKER_HOST=$shared_docker_host; else unset DOCKER_HOST; fi
  if [ "$started_lab" = yes ]; then
    WHARF_LAB_NAME=$lab_name bash examples/swarm-lab.sh down >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -n "${BENCH_DOCKER_HOST:-}" ]; then
  manager=$BENCH_DOCKER_HOST
else
  started_lab=yes
  WHARF_LAB_NAME=$lab_name WHARF_LAB_DIR=$work/lab bash examples/swarm-lab.sh up >&2 ||
    die "the lab swarm did not come up"
  manager=unix://$work/lab/node-1/docker.sock
fi
case $manager in unix://*) socket=${manager#unix://} ;; *) die "the floor needs a unix socket, not $manager" ;; esac
export DOCKER_HOST=$manager
docker node ls >/dev/null 2>&1 || die "$manager is not a swarm manager"

# The file both tools deploy.
{
  echo "services:"
  for i in $(seq -w 1 "$services"); do
    cat <<YAML
  s$i:
    image: $image
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    deploy: {replicas: $replicas, endpoint_mode: dnsrr}
YAML
  done
} >"$work/compose.yaml"

# Removes the stack $1 and waits until its services and networks are gone (untimed).
remove_stack() {
  local filter=label=com.docker.stack.namespace=$1 tries=0
  docker stack rm "$1" >/dev/null 2>&1 || true
  until [ -z "$(docker service ls -q --filter "$filter")$(docker network ls -q --filter "$filter")" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || die "the stack $1 is not removed after 60 s"
    sleep 0.1
    [ $((tries % 50)) -ne 0 ] || docker stack rm "$1" >/dev/null 2>&1 || true
  done
}

# Runs "$@" (a deploy), fails the benchmark with its output when it fails, prints its ms.
timed() {
  local t0=$EPOCHREALTIME
  "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; die "failed: $*"; }
  ms_since "$t0"
}
wharf_up() { (cd "$work" && "$wharf" -p "$1" --target swarm up -d); }
stack_deploy() { docker stack deploy --detach=false --resolve-image never -c "$work/compose.yaml" "$1"; }

: >"$work/times.tsv"
for run in $(seq 1 "$runs"); do
  w=$prefix-w$run s=$prefix-s$run f=$prefix-f$run
  wc=$(timed wharf_up "$w")
  wu=$(timed wharf_up "$w")
  remove_stack "$w"
  sc=$(timed stack_deploy "$s")
  su=$(timed stack_deploy "$s")
  remove_stack "$s"
  fc=$(python3 bench/swarm_floor.py "$socket" "$f" "$services" "$replicas" "$image")
  remove_stack "$f"
  printf 'bench: run %d/%d  cold up: wharf %8.1f  stack deploy %8.1f  floor %8.1f   unchanged: wharf %7.1f  stack deploy %8.1f ms\n' \
    "$run" "$runs" "$wc" "$sc" "$fc" "$wu" "$su" >&2
  printf 'cold\twharf\t%s\ncold\tstack\t%s\ncold\tfloor\t%s\nunchanged\twharf\t%s\nunchanged\tstack\t%s\n' \
    "$wc" "$sc" "$fc" "$wu" "$su" >>"$work/times.tsv"
done

python3 - "$work/times.tsv" "$services" "$replicas" "$runs" <<'PY'
import collections, statistics, sys
path, services, replicas, runs = sys.argv[1:5]
times = collections.defaultdict(list)
for line in open(path):
    step, tool, ms = line.split("\t")
    times[(step, tool)].append(float(ms))
m = lambda step, tool: statistics.median(times[(step, tool)]) if times[(step, tool)] else None
print(f"{services} services x {replicas} replicas on a 3-node lab swarm, median of {runs} runs (ms)")
print(f"{'step':<12}{'wharf':>12}{'stack deploy':>16}{'floor':>12}{'wharf/stack':>14}{'wharf/floor':>14}")
for step in ("cold", "unchanged"):
    w, s, f = m(step, "wharf"), m(step, "stack"), m(step, "floor")
    floor = f"{f:12.1f}" if f else f"{'-':>12}"
    ratio = f"{w / f:14.2f}" if f else f"{'-':>14}"
    print(f"{step:<12}{w:12.1f}{s:16.1f}{floor}{w / s:14.3f}{ratio}")
PY
