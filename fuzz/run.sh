#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 60), one after the other; fails
# on the first crash, timeout (a run over 10 s) or out-of-memory (over 2 GB), leaving the
# input under fuzz/artifacts/<target>/. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`);
# the stable toolchain builds with RUSTC_BOOTSTRAP=1 (cargo-fuzz asks for nightly flags).
#   bash fuzz/run.sh SECONDS [TARGET...]
set -euo pipefail
seconds=${1:-60}
shift || true
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

cargo fuzz build --release --debug-assertions
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

# Seeds: the conformance corpus's compose and .env files; the rest start from nothing.
mkdir -p corpus/load corpus/dotenv
find ../specs ../tests/corpus -name 'compose*.y*ml' -o -name 'docker-compose*.y*ml' 2>/dev/null |
  while read -r file; do cp "$file" "corpus/load/seed-$(echo "$file" | md5sum | cut -c1-12)"; done
find ../specs -name '*.env' -o -name '.env' 2>/dev/null |
  while read -r file; do cp "$file" "corpus/dotenv/seed-$(echo "$file" | md5sum | cut -c1-12)"; done

for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  echo "fuzz: $target for ${seconds}s"
  started=$(date +%s)
  set +e
  cargo fuzz run --release --debug-assertions "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"artifacts/$target/log" 2>&1
  status=$?
  set -e
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Test unit written|.*panicked|==[0-9]+== ERROR)' \
    "artifacts/$target/log" || true
  echo "fuzz: $target ran $(( $(date +%s) - started ))s, exit $status"
  [ "$status" -eq 0 ] || { echo "fuzz: $target failed; its input and log are in fuzz/artifacts/$target/"; exit 1; }
done
echo "fuzz: every target ran ${seconds}s without a crash, timeout or out-of-memory"
