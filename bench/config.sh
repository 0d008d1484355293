#!/usr/bin/env bash
# Times `wharf config` against docker compose v2 (`docker compose config`, the peer users run) and
# Debian's `docker-compose config` (1.29, a second column), in one run:
#   (a) over every project of tests/corpus/awesome-compose that docker-compose 1.29 accepts,
#   (b) on a generated compose file with 1000 services (bench/gen_compose.py).
# Each figure is the median of BENCH_RUNS runs (default 5) after one warm-up run. It prints the
# tools' medians in ms and the ratios wharf/v2 and wharf/1.29, and checks issue #17's absolute
# target: `wharf config -q` on the 1000-service file takes under 60 ms. Exit status: 0 when that
# check passes, 1 when it fails, 2 when the benchmark could not run.
#
# Environment:
#   BENCH_RUNS=5         runs per measurement
#   BENCH_SERVICES=1000  services in the generated file
#   BENCH_TIMER=auto     auto (hyperfine if installed, else python3) | hyperfine | python
#   BENCH_NO_INSTALL=1   do not apt-get install hyperfine when it is missing
#   BENCH_WHARF=PATH     time this binary instead of building target/release/wharf
#   BENCH_CORPUS=DIR     the corpus (default tests/corpus/awesome-compose in the repo)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
runs=${BENCH_RUNS:-5}
services=${BENCH_SERVICES:-1000}
timer=${BENCH_TIMER:-auto}
corpus=${BENCH_CORPUS:-$root/tests/corpus/awesome-compose}
limit_ms=60

. bench/lib.sh

command -v python3 >/dev/null || die "python3 is required"
command -v docker-compose >/dev/null || die "docker-compose (Debian's 1.29) is not on PATH"
docker compose version >/dev/null 2>&1 || die "docker compose v2 is not installed (see .ci/run)"
[ -d "$corpus" ] || die "corpus not found: $corpus"
corpus=$(realpath "$corpus")
case $runs in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac

# --- the timer --------------------------------------------------------------------------------
if [ "$timer" = auto ] || [ "$timer" = hyperfine ]; then
  if ! command -v hyperfine >/dev/null && [ "$(id -u)" = 0 ] && [ -z "${BENCH_NO_INSTALL:-}" ]; then
    echo "bench: installing hyperfine (apt)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; } >/dev/null 2>&1 ||
      echo "bench: could not install hyperfine"
  fi
  if command -v hyperfine >/dev/null; then
    timer=hyperfine
  elif [ "$timer" = hyperfine ]; then
    die "hyperfine is not installed"
  else
    timer=python
  fi
fi
[ "$timer" = hyperfine ] || [ "$timer" = python ] || die "BENCH_TIMER must be auto, hyperfine or python"

# --- the binary -------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"

binary=$(bench_wharf)
ln -s "$binary" "$work/bin/wharf"
wharf=$work/bin/wharf
"$wharf" config --help >/dev/null 2>&1 || die "'wharf config' is not available in $(realpath "$wharf")"

# A timing loop for machines without hyperfine; writes hyperfine's JSON shape.
cat >"$work/timeit.py" <<'EOF'
import json, statistics, subprocess, sys, time
runs, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def once():
    start = time.perf_counter()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed with exit code {done.returncode}: {' '.join(cmd)}")
    return elapsed
once()  # warm-up
times = [once() for _ in range(runs)]
result = {"command": " ".join(cmd), "mean": statistics.mean(times), "median": statistics.median(times),
          "min": min(times), "max": max(times), "times": times}
json.dump({"results": [result]}, open(out, "w"))
EOF

# measure NAME COMMAND... : times COMMAND (no shell; output discarded), leaves $work/NAME.json
measure() {
  local name=$1
  shift
  if [ "$timer" = hyperfine ]; then
    hyperfine --shell=none --style none --warmup 1 --runs "$runs" \
      --export-json "$work/$name.json" --command-name "$name" -- "$*" >/dev/null ||
      die "$name: the command failed: $*"
  else
    python3 "$work/timeit.py" "$runs" "$work/$name.json" "$@" || die "$name: the command failed: $*"
  fi
  printf '  %-22s median %9.1f ms   (min %.1f, max %.1f)\n' "$name" \
    "$(median_ms "$name")" "$(field_ms "$name" min)" "$(field_ms "$name" max)"
}
field_ms() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0][sys.argv[2]] * 1000)' \
    "$work/$1.json" "$2"
}
median_ms() { field_ms "$1" median; }
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.3g}")' "$1" "$2"; }

echo "bench: timer $timer, $runs runs per measurement (median), wharf $(realpath "$wharf")"
echo "bench: $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"

# --- (a) the corpus ---------------------------------------------------------------------------
# Each project is run from its own directory (compose discovery and its .env), as a user would.
selected=0
dc_rejected=()
wharf_rejected=()
printf 'set -e\n' >"$work/corpus-wharf.sh"
printf 'set -e\n' >"$work/corpus-dc.sh"
printf 'set -e\n' >"$work/corpus-v2.sh"
for dir in "$corpus"/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  if ! (cd "$dir" && docker-compose config -q) >/dev/null 2>&1; then
    dc_rejected+=("$name")
    continue
  fi
  if ! (cd "$dir" && "$wharf" config) >/dev/null 2>"$work/err"; then
    wharf_rejected+=("$name")
    echo "bench: wharf rejects $name, which docker-compose accepts:" >&2
    head -n 20 "$work/err" | sed 's/^/    /' >&2
    continue
  fi
  q=$(printf '%q' "$dir")
  printf 'cd %s && %q config >/dev/null 2>&1\n' "$q" "$wharf" >>"$work/corpus-wharf.sh"
  printf 'cd %s && docker-compose config >/dev/null 2>&1\n' "$q" >>"$work/corpus-dc.sh"
  printf 'cd %s && docker compose config >/dev/null 2>&1\n' "$q" >>"$work/corpus-v2.sh"
  selected=$((selected + 1))
done
[ "$selected" -gt 0 ] || die "no project of the corpus was accepted by both tools"

echo "bench: (a) $(basename "$corpus"): $selected projects, each 'config' run from its directory"
measure corpus-wharf bash "$work/corpus-wharf.sh"
measure corpus-v2 bash "$work/corpus-v2.sh"
measure corpus-dc bash "$work/corpus-dc.sh"

# --- (b) the generated file -------------------------------------------------------------------
gen=$work/gen
python3 "$root/bench/gen_compose.py" "$services" "$gen"
big=$gen/compose.yaml
(cd "$gen" && docker-compose config -q) >/dev/null 2>&1 || die "docker-compose rejects the generated file"
(cd "$gen" && "$wharf" config -q) >/dev/null 2>"$work/err" || {
  sed 's/^/    /' "$work/err" >&2
  die "wharf rejects the generated file"
}

echo "bench: (b) generated file: $services services, $(wc -l <"$big") lines"
measure big-wharf "$wharf" -f "$big" config
measure big-v2 docker compose -f "$big" config
measure big-dc docker-compose -f "$big" config
measure big-wharf-q "$wharf" -f "$big" config -q
measure big-v2-q docker compose -f "$big" config -q

# --- summary ----------------------------------------------------------------------------------
cw=$(median_ms corpus-wharf)
cv=$(median_ms corpus-v2)
cd_=$(median_ms corpus-dc)
bw=$(median_ms big-wharf)
bv=$(median_ms big-v2)
bd=$(median_ms big-dc)
bq=$(median_ms big-wharf-q)
bvq=$(median_ms big-v2-q)
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$bq" "$limit_ms"; then
  verdict=PASS
else
  verdict=FAIL
fi

echo
printf '%-34s %9s %9s %9s %9s %9s\n' "benchmark (median of $runs)" "wharf ms" "v2 ms" "1.29 ms" "/v2" "/1.29"
printf '%-34s %9.1f %9.1f %9.1f %9s %9s\n' "$(basename "$corpus"), $selected projects" "$cw" "$cv" "$cd_" "$(ratio "$cw" "$cv")" "$(ratio "$cw" "$cd_")"
printf '%-34s %9.1f %9.1f %9.1f %9s %9s\n' "$services services: config" "$bw" "$bv" "$bd" "$(ratio "$bw" "$bv")" "$(ratio "$bw" "$bd")"
printf '%-34s %9.1f %9.1f %9s %9s %9s\n' "$services services: config -q" "$bq" "$bvq" "-" "$(ratio "$bq" "$bvq")" "-"
echo
echo "$verdict: wharf config -q on $services services took $(printf '%.1f' "$bq") ms (limit ${limit_ms} ms)"
[ ${#dc_rejected[@]} -eq 0 ] || echo "skipped, docker-compose 1.29 rejects them: ${dc_rejected[*]}"
[ ${#wharf_rejected[@]} -eq 0 ] ||
  echo "WARNING: wharf rejects ${#wharf_rejected[@]} project(s) that docker-compose accepts: ${wharf_rejected[*]}"

[ "$verdict" = PASS ]
