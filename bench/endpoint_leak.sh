#!/usr/bin/env bash
# Repeats `up -d` then `down` on one generated project, with wharf and with docker compose v2
# side by side, and counts what each cycle leaves behind: a failed `up` or `down`, a network of
# the project still there after `down` (the engine refuses to remove a network that still has an
# endpoint: "has active endpoints"), and an endpoint the engine still lists on a network that no
# container is on. Issue #20 asks whether the endpoint seen leaked after repeated cycles is
# wharf's doing or the engine's: when compose v2, which wharf does not touch, leaks as well on
# the same engine, it is the engine's.
#
# usage: bench/endpoint_leak.sh [CYCLES] [SERVICES]     (defaults: 50 cycles, 10 services)
#
# Environment: BENCH_WHARF=PATH times this binary instead of a release build made now.
# Everything it made is removed at the end, also when it fails or is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

cycles=${1:-50}
services=${2:-10}
wharf=$(bench_wharf)
require_engine_and_image wharf-demo/busybox:latest
command -v docker >/dev/null && docker compose version >/dev/null 2>&1 ||
  die "docker compose v2 is missing (see .ci/run)"

work=$(mktemp -d)
projects=(wharfleak-wharf wharfleak-v2)
cleanup() {
  for p in "${projects[@]}"; do
    docker compose -p "$p" --project-directory "$work" -f "$work/compose.yaml" down -v -t 0 \
      >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
python3 bench/gen_converge.py "$services" "$work" >/dev/null

# The networks labelled with project $1.
networks_of() {
  docker network ls -q --filter "label=com.docker.compose.project=$1"
}

# The endpoints that networks of project $1 still list.
endpoints_of() {
  local n
  for n in $(networks_of "$1"); do
    docker network inspect -f '{{range $id, $c := .Containers}}{{$c.Name}} {{end}}' "$n"
  done | wc -w
}

# One tool's cycles: prints `failed_up failed_down networks_left endpoints_left`.
run_cycles() {
  local tool=$1 project=$2 failed_up=0 failed_down=0 networks_left=0 endpoints_left=0 i
  local -a cmd
  case $tool in
    wharf) cmd=("$wharf" -p "$project" -f "$work/compose.yaml") ;;
    v2) cmd=(docker compose -p "$project" -f "$work/compose.yaml") ;;
  esac
  for ((i = 1; i <= cycles; i++)); do
    "${cmd[@]}" up -d >/dev/null 2>"$work/up.err" || {
      failed_up=$((failed_up + 1))
      echo "  $tool cycle $i: up failed: $(tail -n 1 "$work/up.err")" >&2
    }
    "${cmd[@]}" down >/dev/null 2>"$work/down.err" || {
      failed_down=$((failed_down + 1))
      echo "  $tool cycle $i: down failed: $(tail -n 1 "$work/down.err")" >&2
    }
    local left endpoints
    left=$(networks_of "$project" | wc -l)
    endpoints=$(endpoints_of "$project")
    if [ "$left" -gt 0 ]; then
      networks_left=$((networks_left + 1))
      echo "  $tool cycle $i: $left network(s) left, $endpoints endpoint(s) on them" >&2
      endpoints_left=$((endpoints_left + endpoints))
      # Start the next cycle from nothing, as a user would after the error.
      docker compose -p "$project" -f "$work/compose.yaml" down -t 0 >/dev/null 2>&1 || true
      for n in $(networks_of "$project"); do
        docker network rm "$n" >/dev/null 2>&1 || true
      done
    fi
  done
  echo "$failed_up $failed_down $networks_left $endpoints_left"
}

echo "endpoint leak: $cycles cycles of up -d / down, $services services, each tool in turn"
read -r wu wd wn we < <(run_cycles wharf wharfleak-wharf)
read -r vu vd vn ve < <(run_cycles v2 wharfleak-v2)
printf '%-16s %10s %12s %22s %16s\n' tool "up failed" "down failed" "cycles leaving a net" "endpoints left"
printf '%-16s %10s %12s %22s %16s\n' wharf "$wu" "$wd" "$wn" "$we"
printf '%-16s %10s %12s %22s %16s\n' "docker compose" "$vu" "$vd" "$vn" "$ve"
if [ "$wn" -gt 0 ] && [ "$vn" -eq 0 ]; then
  echo "wharf leaves networks behind where compose v2 does not: wharf's doing"
  exit 1
fi
echo "wharf leaves no more behind than compose v2 on this engine"
