# What the bench scripts share; sourced (not run) from the repository root, after `set -euo
# pipefail`. A setup failure exits with status 2, so that it is told from a missed target (1).

die() { echo "bench: $*" >&2; exit 2; }

# The directory cargo builds into: CARGO_TARGET_DIR when set, else the workspace's.
target_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# Prints the wharf binary to time: BENCH_WHARF when set, else a release build made now, so that
# a benchmark never times a stale or debug binary by accident.
bench_wharf() {
  if [ -n "${BENCH_WHARF:-}" ]; then
    [ -x "$BENCH_WHARF" ] || die "BENCH_WHARF is not an executable: $BENCH_WHARF"
    realpath "$BENCH_WHARF"
  else
    echo "bench: cargo build --release" >&2
    cargo build --release --quiet --bin wharf || die "cargo build failed"
    echo "$(target_dir)/release/wharf"
  fi
}

# Insists on an engine that answers and makes the demo image IMAGE when it is missing: the
# benchmarks pull nothing, so that a registry's speed is never part of a figure.
require_engine_and_image() {
  docker info >/dev/null 2>&1 || die "the Docker Engine does not answer"
  if ! docker image inspect "$1" >/dev/null 2>&1; then
    echo "bench: $1 is missing; making it with examples/images.sh"
    bash examples/images.sh || die "examples/images.sh failed"
  fi
}
