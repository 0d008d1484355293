#!/usr/bin/env python3
"""Compare `wharf config --format json` with `docker compose config --format json` (compose v2,
the reference) on a folder of compose projects, exactly.

Usage: compare_v2.py [--all-paths] DIR

Every compose file found below DIR (names `compose.yaml`, `docker-compose.yml`,
`docker-compose.prod.yml`, ...; `node_modules` and `.git` skipped) makes one project:

- a folder holding one of the default names (`compose.yaml`, `compose.yml`,
  `docker-compose.yaml`, `docker-compose.yml`) is one project, loaded as both tools discover it
  (the override file included);
- every other compose file (`docker-compose.dev.yml`, ...) but `*.override.*` is a project of
  its own, loaded with `-f NAME` from its folder.

Both tools run in the project's folder with the same clean environment (`PATH`, `HOME` an empty
temporary folder, `LANG=C.UTF-8`, `NO_COLOR=1`). Their outputs are parsed as JSON and compared
exactly, key order included (v2 prints struct fields in declaration order and map keys sorted,
so its order is stable). One line per project:

    <project>: same
    <project>: DIFFERENT at <json path>: wharf <value> / v2 <value>
    <project>: v2 rejects, wharf too: <v2's error>
    <project>: v2 rejects, wharf ACCEPTS: <v2's error>
    <project>: wharf FAILS: <wharf's error>

then the totals, the agreement (projects where both print the same JSON or both reject, over all
projects) and the classes of differences (a JSON path with the names of services, networks,
volumes, secrets and configs replaced by `*`, counted once per project; with `--all-paths`,
every differing path of a project counts, not only the first).

The wharf binary is taken from the WHARF environment variable (default `target/debug/wharf`
under the repository root). Standard library only. Exit status 0 (it measures, it does not
judge), 2 on a usage error.
"""

import collections
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 60  # seconds, per tool per project
DEFAULT_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
COMPOSE_FILE = re.compile(r"^(docker-)?compose(\.[^/]+)?\.ya?ml$")
NAMED_SECTIONS = ("services", "networks", "volumes", "secrets", "configs", "models")


def projects(root):
    """(folder, extra arguments) of every project below `root`, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("node_modules", ".git"))
        composes = sorted(f for f in files if COMPOSE_FILE.match(f))
        if any(name in composes for name in DEFAULT_NAMES):
            found.append((folder, []))
        for name in composes:
            if name not in DEFAULT_NAMES and ".override." not in name:
                found.append((folder, ["-f", name]))
    return found


def run(argv, folder, home):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
    }
    try:
        done = subprocess.run(
            argv,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return done.returncode, done.stdout.decode("utf-8", "replace") + "\0" + done.stderr.decode(
        "utf-8", "replace"
    )


def ordered(text):
    """The JSON document with every object as a list of (key, value) pairs, order kept."""
    return json.loads(text, object_pairs_hook=lambda pairs: ("object", pairs))


def is_object(value):
    return isinstance(value, tuple) and len(value) == 2 and value[0] == "object"


def plain(value):
    """`value` back to ordinary JSON text, for a message."""
    def build(v):
        if is_object(v):
            return {k: build(x) for k, x in v[1]}
        if isinstance(v, list):
            return [build(x) for x in v]
        return v

    text = json.dumps(build(value), separators=(",", ":"))
    return text if len(text) <= 120 else text[:117] + "..."


def differences(wharf, v2, path="$"):
    """Every (path, wharf value, v2 value) where the two documents differ, in document order."""
    if is_object(wharf) and is_object(v2):
        wkeys = [k for k, _ in wharf[1]]
        vkeys = [k for k, _ in v2[1]]
        wmap, vmap = dict(wharf[1]), dict(v2[1])
        found = []
        for key in vkeys:
            sub = f"{path}.{key}"
            if key not in wmap:
                found.append((sub, "(absent)", plain(vmap[key])))
            else:
                found.extend(differences(wmap[key], vmap[key], sub))
        for key in wkeys:
            if key not in vmap:
                found.append((f"{path}.{key}", plain(wmap[key]), "(absent)"))
        common_w = [k for k in wkeys if k in vmap]
        common_v = [k for k in vkeys if k in wmap]
        if not found and common_w != common_v:
            found.append((f"{path} (key order)", ",".join(common_w), ",".join(common_v)))
        return found
    if isinstance(wharf, list) and isinstance(v2, list):
        found = []
        for i, (a, b) in enumerate(zip(wharf, v2)):
            found.extend(differences(a, b, f"{path}[{i}]"))
        if len(wharf) != len(v2):
            found.append((f"{path} (length)", str(len(wharf)), str(len(v2))))
        return found
    if wharf == v2 and type(wharf) is type(v2):
        return []
    return [(path, plain(wharf), plain(v2))]


def general(path):
    """`path` with the user's names of services, networks, ... replaced by `*`."""
    parts = path.split(".")
    out = []
    for i, part in enumerate(parts):
        if i >= 2 and parts[i - 1] in NAMED_SECTIONS and i == 2:
            out.append("*")
        elif i >= 2 and parts[i - 1] in ("depends_on", "networks", "args", "environment",
                                          "labels", "extra_hosts", "sysctls", "ulimits",
                                          "driver_opts", "options") and i > 2:
            out.append("*")
        else:
            out.append(part)
    return re.sub(r"\[\d+\]", "[]", ".".join(out))


def first_line(text):
    lines = [l for l in text.replace("\0", "\n").splitlines() if l.strip()]
    return lines[-1].strip() if lines else "(no output)"


def main(argv):
    all_paths = "--all-paths" in argv
    args = [a for a in argv if a != "--all-paths"]
    if len(args) != 1 or not os.path.isdir(args[0]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = os.path.abspath(args[0])
    wharf = os.environ.get("WHARF", os.path.join(REPO, "target", "debug", "wharf"))
    counts = collections.Counter()
    classes = collections.Counter()
    with tempfile.TemporaryDirectory() as home:
        for folder, extra in projects(root):
            name = os.path.relpath(folder, root) + ("" if not extra else "/" + extra[1])
            v2_status, v2_out = run(["docker", "compose", *extra, "config", "--format", "json"],
                                    folder, home)
            w_status, w_out = run([wharf, *extra, "config", "--format", "json"], folder, home)
            if v2_status != 0:
                if w_status != 0:
                    counts["both reject"] += 1
                    print(f"{name}: v2 rejects, wharf too: {first_line(v2_out)}")
                else:
                    counts["v2 rejects, wharf accepts"] += 1
                    print(f"{name}: v2 rejects, wharf ACCEPTS: {first_line(v2_out)}")
                continue
            if w_status != 0:
                counts["wharf fails"] += 1
                classes["(wharf fails) " + re.sub(r"['\"`][^'\"`]*['\"`]", "…",
                                                   first_line(w_out))[:100]] += 1
                print(f"{name}: wharf FAILS: {first_line(w_out)}")
                continue
            try:
                found = differences(ordered(w_out.split("\0")[0]), ordered(v2_out.split("\0")[0]))
            except json.JSONDecodeError as err:
                counts["wharf fails"] += 1
                print(f"{name}: wharf FAILS: not JSON: {err}")
                continue
            if not found:
                counts["same"] += 1
                print(f"{name}: same")
                continue
            counts["different"] += 1
            path, w_val, v_val = found[0]
            print(f"{name}: DIFFERENT at {path}: wharf {w_val} / v2 {v_val}"
                  + (f" (+{len(found) - 1} more)" if len(found) > 1 else ""))
            for cls in sorted({general(p) for p, _, _ in (found if all_paths else found[:1])}):
                classes[cls] += 1
    total = sum(counts.values())
    agree = counts["same"] + counts["both reject"]
    accepted = counts["same"] + counts["different"] + counts["wharf fails"]
    print()
    print(f"{total} projects: {counts['same']} same, {counts['different']} different, "
          f"{counts['wharf fails']} failed in wharf, {counts['both reject']} rejected by both, "
          f"{counts['v2 rejects, wharf accepts']} rejected by v2 only")
    if total:
        print(f"agreement: {agree}/{total} = {100 * agree / total:.1f} %"
              + (f" (same JSON on {counts['same']}/{accepted} = "
                 f"{100 * counts['same'] / accepted:.1f} % of the files v2 accepts)"
                 if accepted else ""))
    if classes:
        print("\nclasses of differences (projects):")
        for cls, n in classes.most_common():
            print(f"  {n:4d}  {cls}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
