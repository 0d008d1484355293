#!/usr/bin/env bash
# The first thing to run on a fresh machine: builds wharf, makes the demo images offline
# (examples/images.sh: there is no registry to pull from), starts examples/webapp-db (a Python web
# app with a Redis and a named volume) with `wharf up -d`, shows `wharf ps`, visits the app once,
# and says how to take it down. The project stays up so that you can look at it.
#
# Environment:
#   WHARF_DEMO_CLI=CMD   the compose CLI that drives the example (default: the wharf just built);
#                        `WHARF_DEMO_CLI=docker-compose bash examples/demo.sh` runs the same demo
#                        with Debian's docker-compose 1.29, for comparison
#   WEBAPP_PORT=8000     the loopback port that the app is published on
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
example=webapp-db
port=${WEBAPP_PORT:-8000}
export WEBAPP_PORT=$port

say() { printf '\n+ %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed (a Rust toolchain is needed)"
command -v docker >/dev/null || die "the docker CLI is not installed"

say "cargo build --release --bin wharf"
cargo build --release --bin wharf
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null) ||
  target_dir=${CARGO_TARGET_DIR:-$root/target}
wharf=$target_dir/release/wharf
[ -x "$wharf" ] || die "the build did not produce $wharf"

if [ -n "${WHARF_DEMO_CLI:-}" ]; then
  read -r -a cli <<<"$WHARF_DEMO_CLI"
  name=$WHARF_DEMO_CLI
else
  cli=("$wharf")
  name=wharf
fi

say "bash examples/images.sh"
bash examples/images.sh

cd "examples/$example"
say "cd examples/$example && $name up -d"
if ! "${cli[@]}" up -d; then
  [ -n "${WHARF_DEMO_CLI:-}" ] ||
    echo "demo: if this wharf cannot 'up' yet, WHARF_DEMO_CLI=docker-compose bash examples/demo.sh shows the same demo with docker-compose" >&2
  die "'$name up -d' failed in examples/$example"
fi

say "$name ps"
"${cli[@]}" ps

# get URL: prints the body, fails on an HTTP error or when nothing answers.
get() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 3 "$1"
  else
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "$1"
  fi
}

url=http://127.0.0.1:$port/
say "curl $url"
# `up -d` returns once the containers run; the app may need a moment before it answers.
answer=
for _ in $(seq 1 30); do
  if answer=$(get "$url" 2>/dev/null); then
    break
  fi
  answer=
  sleep 1
done
if [ -z "$answer" ]; then
  echo "demo: the app did not answer on $url within 30 s; its logs:" >&2
  "${cli[@]}" logs --tail 20 >&2 || true
  die "see above; take the example down with: cd examples/$example && $name down"
fi
printf '%s\n' "$answer"

if [ -z "${WHARF_DEMO_CLI:-}" ]; then
  where=" (wharf is $wharf)"
else
  where=
fi
echo
echo "The example is up$where. From examples/$example:"
row() { printf '  %-34s %s\n' "$1" "$2"; }
row "curl $url" "counts one more visit; the count survives '$name down' and '$name up -d'"
row "$name logs" "what web and redis printed"
row "$name down" "takes it down and keeps the counter's volume"
row "$name down -v" "takes it down and removes the volume too"
echo "Two more examples start the same way: examples/scaled and examples/health-gated (examples/README.md)."
