#!/usr/bin/env bash
# Watch mode, measured on the real engine, over BENCH_EDITS saves each (default 20):
#  1. re-converge latency: from a save of compose.yaml (an environment value changed) to the
#     first engine call of the re-converge, which `wharf watch` logs with a timestamp
#     (RUST_LOG=wharf::watch=info) right before it makes it; the debounce is included;
#  2. sync latency: from a save of a file under a `develop.watch` sync rule to its new content
#     in the container, read through /proc/<pid>/root of the container's process (no exec in
#     the way of the measurement).
# Saves are made as editors make them: a new file renamed over the old one.
# Targets (issue 6): median re-converge latency under 500 ms; median sync latency under 1 s.
#
# usage: bench/watch.sh        (env: BENCH_EDITS, BENCH_WHARF = a wharf binary; run as root)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
edits=${BENCH_EDITS:-20}
image=wharf-demo/busybox:latest
project=wharfbench-watch

. bench/lib.sh
[ "$(id -u)" = 0 ] || die "run as root: the sync is read through /proc/<pid>/root"
require_engine_and_image "$image"
wharf=$(bench_wharf)

work=$(mktemp -d "${TMPDIR:-/tmp}/wharf-watch.XXXXXX")
export WHARF_STATE_DIR=$work/state
watcher=
cleanup() {
  [ -n "$watcher" ] && kill -TERM "$watcher" 2>/dev/null && wait "$watcher" 2>/dev/null || true
  "$wharf" -p "$project" down -v >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# `app` is replaced at every compose edit; `web` takes the syncs. SIGKILL stops them at once:
# the bench measures wharf, not a stop timeout.
compose() {
  cat <<EOF
services:
  app:
    image: $image
    command: [sleep, "3600"]
    stop_signal: SIGKILL
    environment: [EDIT=$1]
  web:
    image: $image
    command: [sleep, "3600"]
    stop_signal: SIGKILL
    develop:
      watch:
        - path: ./site
          action: sync
          target: /srv/site
EOF
}
mkdir -p "$work/project/site"
compose 0 >"$work/project/compose.yaml"
echo 0 >"$work/project/site/page.txt"

(cd "$work/project" && RUST_LOG=wharf::watch=info NO_COLOR=1 exec "$wharf" -p "$project" watch \
  >"$work/watch.log" 2>&1) &
watcher=$!
for _ in $(seq 1 600); do grep -q "watch: watching" "$work/watch.log" && break; sleep 0.1; done
grep -q "watch: watching" "$work/watch.log" || die "wharf watch did not start: $(tail -5 "$work/watch.log")"

python3 - "$work" "$project" "$edits" "$image" <<'PY'
import datetime, os, re, statistics, subprocess, sys, time

work, project, edits, image = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
log_path = os.path.join(work, "watch.log")
compose_path = os.path.join(work, "project", "compose.yaml")
page_path = os.path.join(work, "project", "site", "page.txt")
STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z.*converging on the reloaded project")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

def save(path, text):
    temporary = path + ".bench-tmp"
    with open(temporary, "w") as f:
        f.write(text)
    saved = time.time()
    os.rename(temporary, path)
    return saved

def log_lines():
    with open(log_path, errors="replace") as f:
        return [ANSI.sub("", line) for line in f]

def wait_for(count, text, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sum(text in line for line in log_lines()) >= count:
            return
        time.sleep(0.01)
    sys.exit("bench: no %r (#%d) in the log:\n%s" % (text, count, "".join(log_lines()[-20:])))

def compose(edit):
    with open(compose_path) as f:
        text = f.read()
    return re.sub(r"EDIT=\d+", "EDIT=%d" % edit, text)

# 1. save -> first engine call of the re-converge
reconverge = []
for edit in range(1, edits + 1):
    saved = save(compose_path, compose(edit))
    wait_for(edit, "watch: converged")
    stamps = [STAMP.search(line) for line in log_lines()]
    stamp = [m for m in stamps if m][edit - 1].group(1)
    call = datetime.datetime.fromisoformat(stamp[:26]).replace(tzinfo=datetime.timezone.utc).timestamp()
    reconverge.append((call - saved) * 1000)
    time.sleep(0.5)

# 2. save -> content in the container
pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", project + "-web-1"],
                     capture_output=True, text=True, check=True).stdout.strip()
inside = "/proc/%s/root/srv/site/page.txt" % pid
synced = []
for edit in range(1, edits + 1):
    content = "edit %d\n" % edit
    saved = save(page_path, content)
    deadline = saved + 10
    while time.time() < deadline:
        try:
            with open(inside) as f:
                if f.read() == content:
                    break
        except OSError:
            pass
        time.sleep(0.002)
    else:
        sys.exit("bench: edit %d not synced within 10 s" % edit)
    synced.append((time.time() - saved) * 1000)
    time.sleep(0.5)

def summary(values):
    return "%.0f ms (min %.0f, max %.0f, n %d)" % (statistics.median(values), min(values), max(values), len(values))

def verdict(values, limit):
    return "PASS" if statistics.median(values) < limit else "FAIL"

print()
print("%-56s %s" % ("measurement", "value"))
print("%-56s %s  %s" % ("save -> first engine call of the re-converge (median)", summary(reconverge), verdict(reconverge, 500)))
print("%-56s %s  %s" % ("save -> synced content in the container (median)", summary(synced), verdict(synced, 1000)))
print("(debounce: 300 ms of quiet is part of both)")
PY
