#!/usr/bin/env bash
# wharf's DNS beside dnsmasq, over loopback, both serving the same three A records for `web`
# (issue 5), in one run with the same dnsperf settings, BENCH_RUNS rounds (default 3) that take
# turns between the two, reporting medians:
#  1. the queries per second each sustains (dnsperf sending as fast as answers come back);
#  2. wharf's p99 latency at half of dnsmasq's rate (dnsperf -Q), from dnsperf's per-query log,
#     and dnsmasq's at the same rate, to tell the server's latency from the machine's (a busy
#     machine's scheduler delays both alike).
# Targets: wharf's qps >= dnsmasq's; wharf's p99 <= 1 ms at 50 % of that load.
#
# wharf's side is bench/dns_serve.rs (a release example): bench/dns/compose.yaml brought up on
# the in-memory engine, answered by the same table, answers and server as `wharf up`, on a
# loopback listener. Nothing here touches the Docker Engine.
#
# usage: bench/dns.sh     (env: BENCH_SECONDS per measurement, default 10; BENCH_RUNS, default 3)
# exit status: 0 when both targets are met, 1 when one is missed, 2 when it could not run
# needs: dnsperf and dnsmasq (Debian: apt-get install dnsperf dnsmasq-base)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}

. bench/lib.sh
command -v dnsperf >/dev/null || die "dnsperf is missing (apt-get install dnsperf)"
command -v dnsmasq >/dev/null || die "dnsmasq is missing (apt-get install dnsmasq-base)"
cargo build --release --quiet --example dns_serve || die "cargo build failed"
serve=$(target_dir)/release/examples/dns_serve

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wharf_port=$(free_port)
dnsmasq_port=$(free_port)

WHARF_DNS_LISTEN=127.0.0.1:$wharf_port "$serve" bench/dns/compose.yaml >"$work/records" &
pids+=($!)
for _ in $(seq 100); do [ "$(wc -l <"$work/records")" -ge 3 ] && break; sleep 0.1; done
[ "$(wc -l <"$work/records")" -ge 3 ] || die "dns_serve did not start"
# The same records for dnsmasq: a hosts file with `web`'s three addresses.
awk '{ print $2, $1 }' "$work/records" >"$work/hosts"
dnsmasq --keep-in-foreground --port="$dnsmasq_port" --listen-address=127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --addn-hosts="$work/hosts" --local-ttl=1 \
  --pid-file= --user=nobody 2>"$work/dnsmasq.log" &
pids+=($!)
sleep 0.5
echo "web A" >"$work/queries"

# The same load for both: one dnsperf thread, 8 clients, up to 200 queries outstanding.
perf() { dnsperf -s 127.0.0.1 -d "$work/queries" -l "$seconds" -c 8 -q 200 "$@"; }
qps() { awk '/Queries per second/ { printf "%d", $4 }'; }
lost() { awk '/Queries lost/ { print $3 }'; }

# p99 in milliseconds of the per-query latencies that `dnsperf -v` logs (`> NOERROR web A 0.000110`).
p99() {
  awk '/^> / { print $NF * 1000 }' | sort -n |
    awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.3f", v[i] }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Full speed, each round: dnsmasq, then wharf.
for run in $(seq "$runs"); do
  perf -p "$dnsmasq_port" >"$work/dnsmasq.out"
  perf -p "$wharf_port" >"$work/wharf.out"
  d=$(qps <"$work/dnsmasq.out")
  w=$(qps <"$work/wharf.out")
  [ "$d" -gt 0 ] || die "dnsmasq answered nothing: $(cat "$work/dnsmasq.log")"
  [ "$w" -gt 0 ] || die "wharf answered nothing"
  echo "round $run/$runs full speed: dnsmasq $d queries/s (lost $(lost <"$work/dnsmasq.out")), wharf $w (lost $(lost <"$work/wharf.out"))"
  echo "$d" >>"$work/dnsmasq.qps"
  echo "$w" >>"$work/wharf.qps"
done
dnsmasq_qps=$(median <"$work/dnsmasq.qps")
wharf_qps=$(median <"$work/wharf.qps")
half=$((dnsmasq_qps / 2))

# Half of dnsmasq's median rate, each round: wharf, then dnsmasq at the same rate.
for run in $(seq "$runs"); do
  perf -p "$wharf_port" -Q "$half" -v >"$work/wharf-half.out"
  perf -p "$dnsmasq_port" -Q "$half" -v >"$work/dnsmasq-half.out"
  w=$(p99 <"$work/wharf-half.out")
  d=$(p99 <"$work/dnsmasq-half.out")
  echo "round $run/$runs at $half queries/s: p99 wharf $w ms, dnsmasq $d ms"
  echo "$w" >>"$work/wharf.p99"
  echo "$d" >>"$work/dnsmasq.p99"
done
wharf_p99=$(median <"$work/wharf.p99")
dnsmasq_p99=$(median <"$work/dnsmasq.p99")

verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
qps_verdict=$(verdict "$wharf_qps >= $dnsmasq_qps")
p99_verdict=$(verdict "$wharf_p99 <= 1")
echo
echo "medians of $runs rounds of $seconds s"
echo "queries/s:  wharf $wharf_qps, dnsmasq $dnsmasq_qps, ratio $(awk -v w="$wharf_qps" -v d="$dnsmasq_qps" 'BEGIN { printf "%.2f", w / d }')  (target >= 1)  $qps_verdict"
echo "p99 at $half queries/s (50 % of dnsmasq's): wharf $wharf_p99 ms, dnsmasq $dnsmasq_p99 ms  (target wharf <= 1 ms)  $p99_verdict"
[ "$qps_verdict $p99_verdict" = "PASS PASS" ] || exit 1
