#!/usr/bin/env bash
# The first thing to run on a fresh machine: builds wharf and shows the project it loads from
# examples/hello (a web server, a Redis, a named volume, health-gated start-up), in the
# canonical form that `wharf config` prints.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "demo: cargo is not installed (a Rust toolchain is needed)" >&2; exit 1; }

echo "+ cargo build --release"
cargo build --release --bin wharf
wharf=$(realpath "${CARGO_TARGET_DIR:-target}/release/wharf")

cd examples/hello
echo
echo "+ cd examples/hello && wharf config --services"
"$wharf" config --services
echo
echo "+ cd examples/hello && wharf config"
"$wharf" config
