#!/usr/bin/env python3
"""Compare `wharf config --format json` with Debian's docker-compose 1.29 `config` (the second
column: compose v2, the reference, is compared byte for byte by tests/peer_config.rs).

Usage: compare_config.py [CORPUS_DIR]

CORPUS_DIR defaults to `<repo>/tests/corpus/awesome-compose`. Every folder of it is one
compose project. In each, both tools run with the same clean environment; where docker-compose
1.29 accepts the project, both outputs are mapped to one semantic form (below) and compared.

The wharf binary is taken from the WHARF environment variable (default `target/debug/wharf`
under the repository root).

One line per project:

    <project>: same
    <project>: DIFFERENT: <path>: wharf <value> != docker-compose <value>; ...
    <project>: peer rejects: <docker-compose's error>
    <project>: wharf fails: <wharf's error>

then `N projects: A same, B different, C rejected by docker-compose 1.29, D failed in wharf`.
The exit status is 1 when B or D is not zero (2 on a usage error).

Standard library only. docker-compose 1.29 prints YAML: it is read with PyYAML, which Debian's
docker-compose depends on; when the running python3 lacks it, the YAML is converted to JSON by
docker-compose's own interpreter (from its `#!` line).
"""

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CORPUS = os.path.join(REPO, "tests", "corpus", "awesome-compose")
TIMEOUT = 120  # seconds, per tool per project

WHARF = "wharf"
PEER = "docker-compose"

# ------------------------------------------------------------------------------------------------
# ALLOWED_DIFFERENCES: every place where the two printed outputs may differ although they mean the
# same thing. Each entry is applied by the normaliser below (the id is cited where it is applied);
# nothing else is forgiven: a key printed by one tool and not the other is a difference.
# "v2" is docker compose v2 / compose-go, the reference for wharf's output shape.
# ------------------------------------------------------------------------------------------------
ALLOWED_DIFFERENCES = {
    # --- docker-compose 1.29 is outdated relative to the compose specification -----------------
    "version": "1.29 prints a top-level `version` (it is required by its schema); the compose "
    "spec made `version` obsolete and v2 ignores and drops it. Dropped from 1.29's output.",
    "project-name": "1.29 does not print the project name; it is derived as 1.29 does (the "
    "folder's basename, lower-cased, characters outside [-_a-z0-9] removed) and compared with "
    "wharf's top-level `name`.",
    "resource-name": "1.29 does not print `name` for networks/volumes/secrets/configs declared "
    "without one; v2 fills it in (`<project>_<key>`, or `<key>` when external). The same rule "
    "is applied to 1.29's output, so wharf's names are still compared.",
    "default-network": "1.29 leaves the implicit `default` network out; v2 attaches every "
    "service that has neither `networks` nor `network_mode` to `default` (`networks: {default: "
    "null}`) and declares the top-level `default` network when a service uses it. That rule is "
    "applied to 1.29's output.",
    "command-string": "1.29 keeps a string `command`/`entrypoint` as written; v2 splits it like "
    "a shell into a list. 1.29's string is split with shlex (POSIX rules).",
    "units": "1.29 keeps byte sizes (`memory: 1.5G`) and durations (`interval: 10s`) as "
    "written; v2 prints bytes as an integer and durations in Go's form (`1m30s`). Both sides "
    "are converted to bytes (docker's RAMInBytes: binary multipliers) and seconds.",
    "scalar-types": "1.29 keeps YAML scalars typed (`PORT: 8000`, `published: 80`, "
    "`cpus: '0.5'`); v2 prints environment/labels/args/sysctls values and `published` as "
    "strings and cpus as a number. Compared as strings (maps) and numbers (cpus, target).",
    "bind-source-slash": "1.29 normalises absolute bind sources (`/etc/pihole/` -> "
    "`/etc/pihole`); v2 keeps an absolute source as written (compose-go paths/unix.go "
    "maybeUnixPath). Same host directory: sources are compared after posixpath.normpath. "
    "(Targets are NOT normalised: both 1.29 and v2 clean a short-syntax target.)",
    "short-syntax-bind": "1.29 prints short-syntax mounts as `src:dst:mode` strings; v2 the long "
    "form. 1.29's strings are parsed as v2 parses them (compose-go format/volume.go): a source "
    "starting with `/`, `.` or `~` is a bind that creates a missing host path "
    "(`bind.create_host_path: true`), anything else a named volume, no source an anonymous "
    "volume; `rw` is the default. A long-syntax bind without `bind.create_host_path` does not "
    "create the path in either tool.",
    "rw-default": "1.29 appends `:rw` to short mounts; v2 omits `read_only: false`.",
    # --- defaults that one tool prints and the other leaves implicit -----------------------------
    "depends-on-defaults": "v2 prints `required: true` (and `restart` when set) on every "
    "depends_on entry; 1.29 has neither key and treats every dependency as required and not "
    "restarted. Absent `required` = true, absent `restart` = false, absent condition = "
    "service_started.",
    "port-defaults": "v2 prints `mode: ingress` and `protocol: tcp` on every port; 1.29 omits "
    "them when not written. Absent mode = ingress, absent protocol = tcp, absent host_ip = all.",
    "dockerfile-default": "v2 prints `dockerfile: Dockerfile` when a build has none; 1.29 "
    "omits it. Absent dockerfile = `Dockerfile`.",
    "volume-presentation": "v2 prints `volume: {}` on a short-syntax named volume (and "
    "`bind: {...}` on binds); empty option blocks carry no meaning and are dropped.",
    "go-empty-values": "v2 marshals Go structs: `command` and `entrypoint` have no `omitempty` "
    "and print as `null` when not set, and a struct value is never left out, so a network's "
    "`ipam`, `deploy.resources` and `deploy.placement` print as `{}` when not set; 1.29 prints "
    "none of them. A `null` command/entrypoint and an empty ipam/resources/placement mean "
    "\"not set\" and are dropped on both sides.",
    "network-null": "A service network attached without options is printed `null` by both; "
    "`null` and `{}` are the same (no aliases, no addresses).",
    "secret-target": "A service secret without `target` is mounted at `/run/secrets/<source>` "
    "(v2 prints that target since compose-go v2.0.0; 1.29 leaves it implicit); a config "
    "without target at `/<source>`. The default is filled in on both sides.",
    "dollar-escape": "Both compose tools print a config that can be loaded again, so a literal "
    "`$` is written `$$` (docker/compose cmd/compose/config.go escapes the whole output; 1.29 "
    "escapes every value). `$$` is read back as `$` on BOTH sides; a lone `$` left in a printed "
    "string (which compose would interpolate again) is reported as a difference.",
}

# ------------------------------------------------------------------------------------------------
# Small parsers
# ------------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNIT = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}


def duration_seconds(value):
    """A Go duration (`1m30s`, `500ms`) or a number of seconds, in seconds (allowance `units`)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    sign = 1.0
    if text[:1] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            return "<bad duration %r>" % value
        total += float(m.group(1)) * _DURATION_UNIT[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        return "<bad duration %r>" % value
    return round(sign * total, 9)


_RAM = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_RAM_MULT = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_bytes(value):
    """Docker's RAMInBytes (binary multipliers), as an int (allowance `units`)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    m = _RAM.match(str(value).strip())
    if not m:
        return "<bad size %r>" % value
    mult = _RAM_MULT.get((m.group(2) or "").lower(), 1)
    return int(float(m.group(1)) * mult)


def scalar_str(value):
    """A YAML/JSON scalar as the string a compose map value means (allowance `scalar-types`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number(value):
    if value is None or isinstance(value, bool):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    return int(f) if f.is_integer() else f


# ------------------------------------------------------------------------------------------------
# `$$` escapes (allowance `dollar-escape`)
# ------------------------------------------------------------------------------------------------

_LONE_DOLLAR = re.compile(r"(?<!\$)\$(?:\$\$)*(?!\$)")


def unescape_document(node, path, problems):
    """Read every string of a printed config as compose reads it back: `$$` is `$`.

    A lone `$` (an odd run of `$`) is recorded in `problems` as `(path, string)`."""
    if isinstance(node, dict):
        return {
            unescape_document(k, path + ".<key>", problems): unescape_document(v, "%s.%s" % (path, k), problems)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [unescape_document(v, "%s[%d]" % (path, i), problems) for i, v in enumerate(node)]
    if isinstance(node, str) and "$" in node:
        if _LONE_DOLLAR.search(node):
            problems.append((path.lstrip("."), node))
        return node.replace("$$", "$")
    return node


# ------------------------------------------------------------------------------------------------
# The semantic form. Everything below is applied to BOTH outputs unless it says PEER ONLY.
# Sets are frozensets of canonical JSON strings, so that they compare and print well.
# ------------------------------------------------------------------------------------------------


def canon(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def as_map(value, sep="="):
    """A list of `K=V` (or `K`) strings, or a map, as a map of strings (None for a bare key)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): scalar_str(v) for k, v in value.items()}
    out = {}
    for item in value:
        item = str(item)
        if sep in item:
            k, v = item.split(sep, 1)
            out[k] = v
        else:
            out[item] = None
    return out


def as_command(value):
    """command/entrypoint: a string is split like a shell (allowance `command-string`)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            return "<unsplittable %r: %s>" % (value, err)
    return [scalar_str(v) for v in value]


def parse_port(spec):
    """A short port string `[[host_ip:]published:]target[/protocol]` as a long-form map."""
    spec = str(spec)
    protocol = None
    if "/" in spec:
        spec, protocol = spec.rsplit("/", 1)
    host_ip = None
    if spec.startswith("["):  # [v6]:published:target
        end = spec.index("]")
        host_ip, spec = spec[1:end], spec[end + 2:]
    parts = spec.split(":")
    if len(parts) == 3:
        host_ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    else:
        published, target = None, parts[0]
    out = {"target": target}
    if published:
        out["published"] = published
    if host_ip:
        out["host_ip"] = host_ip
    if protocol:
        out["protocol"] = protocol
    return out


def norm_port(port):
    if not isinstance(port, dict):
        port = parse_port(port)
    port = dict(port)
    out = {
        "host_ip": port.pop("host_ip", None) or "",  # allowance port-defaults
        "published": scalar_str(port.pop("published", None)) or "",  # allowance scalar-types
        "target": scalar_str(port.pop("target", None)),
        "protocol": port.pop("protocol", None) or "tcp",  # allowance port-defaults
        "mode": port.pop("mode", None) or "ingress",  # allowance port-defaults
    }
    out.update(port)  # anything else (name, app_protocol) compared as printed
    return canon(out)


def _is_file_path(source):
    return bool(source) and source[0] in "./~"


def parse_volume(spec):
    """1.29's short mount string `[src:]dst[:mode]`, parsed as compose-go parses it
    (allowance `short-syntax-bind`)."""
    parts = str(spec).split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target = parts[0], parts[1]
    out = {"source": source, "target": target}
    if _is_file_path(source):
        out["type"] = "bind"
        out["bind"] = {"create_host_path": True}
    else:
        out["type"] = "volume"
    for opt in (parts[2].split(",") if len(parts) > 2 else []):
        if opt == "ro":
            out["read_only"] = True
        elif opt == "rw":
            out["read_only"] = False  # allowance rw-default
        elif opt == "nocopy":
            out.setdefault("volume", {})["nocopy"] = True
        elif opt in ("z", "Z"):
            out.setdefault("bind", {})["selinux"] = opt
        elif opt in ("shared", "rshared", "slave", "rslave", "private", "rprivate"):
            out.setdefault("bind", {})["propagation"] = opt
        else:
            out.setdefault("<options>", []).append(opt)
    return out


def norm_volume_mount(vol):
    if not isinstance(vol, dict):
        vol = parse_volume(vol)
    vol = json.loads(json.dumps(vol))  # deep copy
    out = {"type": vol.pop("type", None), "target": vol.pop("target", None)}
    source = vol.pop("source", None)
    if out["type"] == "bind" and source:
        source = posixpath.normpath(source)  # allowance bind-source-slash
    out["source"] = source or ""
    out["read_only"] = bool(vol.pop("read_only", False))  # allowance rw-default
    bind = vol.pop("bind", None) or {}
    if out["type"] == "bind":
        bind.setdefault("create_host_path", False)
    for key, block in (("bind", bind), ("volume", vol.pop("volume", None) or {}),
                       ("tmpfs", vol.pop("tmpfs", None) or {}), ("image", vol.pop("image", None) or {})):
        block = {k: v for k, v in block.items() if not (k == "nocopy" and v is False)}
        if block:  # allowance volume-presentation: empty blocks dropped
            out[key] = block
    out.update(vol)  # consistency and anything else, compared as printed
    return canon(out)


def norm_file_mounts(mounts, default_target):
    """Service secrets/configs: list of names or maps (allowance `secret-target`)."""
    out = set()
    for m in mounts or []:
        if not isinstance(m, dict):
            m = {"source": m}
        m = dict(m)
        if not m.get("target"):
            m["target"] = default_target(m.get("source"))
        elif default_target is _secret_target and not m["target"].startswith("/"):
            m["target"] = "/run/secrets/" + m["target"]
        for k in ("uid", "gid"):
            if k in m:
                m[k] = scalar_str(m[k])
        if "mode" in m:
            mode = m["mode"]
            m["mode"] = int(mode, 8) if isinstance(mode, str) else mode
        out.add(canon(m))
    return frozenset(out)


def _secret_target(source):
    return "/run/secrets/%s" % source


def _config_target(source):
    return "/%s" % source


def norm_healthcheck(hc):
    hc = dict(hc)
    test = hc.pop("test", None)
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if hc.pop("disable", False):
        test = ["NONE"]
    out = {}
    if test is not None:
        out["test"] = [scalar_str(t) for t in test]
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in hc:
            out[key] = duration_seconds(hc.pop(key))  # allowance units
    if "retries" in hc:
        out["retries"] = number(hc.pop("retries"))
    out.update(hc)
    return out


def norm_depends_on(deps):
    if deps is None:
        return {}
    if isinstance(deps, list):
        deps = {name: {} for name in deps}
    out = {}
    for name, dep in deps.items():
        dep = dict(dep or {})
        # allowance depends-on-defaults
        entry = {
            "condition": dep.pop("condition", None) or "service_started",
            "required": dep.pop("required", True),
            "restart": dep.pop("restart", False),
        }
        entry.update(dep)
        out[name] = entry
    return out


def norm_service_networks(nets):
    if nets is None:
        return None
    if isinstance(nets, list):
        nets = {n: None for n in nets}
    out = {}
    for name, cfg in nets.items():
        cfg = dict(cfg or {})  # allowance network-null
        if "aliases" in cfg:
            cfg["aliases"] = sorted(set(cfg["aliases"] or []))
        out[name] = cfg
    return out


def norm_build(build):
    if isinstance(build, str):
        build = {"context": build}
    build = dict(build)
    build.setdefault("dockerfile", "Dockerfile")  # allowance dockerfile-default
    if "args" in build:
        build["args"] = as_map(build["args"])
    if "labels" in build:
        build["labels"] = as_map(build["labels"])
    if "shm_size" in build:
        build["shm_size"] = ram_bytes(build["shm_size"])
    return build


def norm_deploy(node, key=None):
    """deploy: sizes in bytes, durations in seconds, cpus a number (allowance units)."""
    if isinstance(node, dict):
        if key == "labels":
            return as_map(node)
        return {k: norm_deploy(v, k) for k, v in node.items()}
    if isinstance(node, list):
        if key == "labels":
            return as_map(node)
        return [norm_deploy(v) for v in node]
    if key in ("memory", "memory_reservation"):
        return ram_bytes(node)
    if key in ("delay", "window", "monitor"):
        return duration_seconds(node)
    if key in ("cpus", "replicas", "parallelism", "max_attempts", "max_failure_ratio", "pids"):
        return number(node)
    return node


def drop_empty(node, keys, empty):
    """`node` without the `keys` whose value is `empty` (allowance go-empty-values)."""
    return {k: v for k, v in node.items() if not (k in keys and v == empty)}


def norm_service(svc):
    svc = drop_empty(dict(svc), ("command", "entrypoint"), None)
    if isinstance(svc.get("deploy"), dict):
        svc["deploy"] = drop_empty(svc["deploy"], ("resources", "placement"), {})
    out = {}
    for key, value in svc.items():
        if key in ("command", "entrypoint"):
            out[key] = as_command(value)
        elif key == "build":
            out[key] = norm_build(value)
        elif key in ("environment", "labels", "sysctls", "annotations"):
            out[key] = as_map(value)
        elif key == "ports":
            out[key] = frozenset(norm_port(p) for p in value or [])
        elif key == "expose":
            out[key] = frozenset(scalar_str(p) for p in value or [])
        elif key == "volumes":
            out[key] = frozenset(norm_volume_mount(v) for v in value or [])
        elif key == "networks":
            out[key] = norm_service_networks(value)
        elif key == "depends_on":
            out[key] = norm_depends_on(value)
        elif key == "healthcheck":
            out[key] = norm_healthcheck(value)
        elif key == "secrets":
            out[key] = norm_file_mounts(value, _secret_target)
        elif key == "configs":
            out[key] = norm_file_mounts(value, _config_target)
        elif key == "deploy":
            out[key] = norm_deploy(value)
        elif key in ("cap_add", "cap_drop", "security_opt", "dns", "dns_search", "env_file"):
            out[key] = frozenset(canon(v) for v in (value if isinstance(value, list) else [value]))
        elif key in ("stop_grace_period",):
            out[key] = duration_seconds(value)
        elif key in ("mem_limit", "memswap_limit", "mem_reservation", "shm_size"):
            out[key] = ram_bytes(value)
        elif key == "extra_hosts":
            hosts = as_map(value, ":") if isinstance(value, list) else as_map(value)
            out[key] = hosts
        else:
            out[key] = value  # compared as printed
    return out


def norm_resource(kind, res):
    res = drop_empty(dict(res or {}), ("ipam",), {})
    external = res.get("external")
    if isinstance(external, dict):  # legacy `external: {name: x}`
        res.setdefault("name", external.get("name"))
        external = True
    res.pop("external", None)
    if external:
        res["external"] = True
    if kind in ("networks", "volumes"):
        for k in ("labels", "driver_opts"):
            if k in res:
                res[k] = as_map(res[k])
    return res


def semantic(doc, project_dir, side):
    """The semantic form of one tool's printed config."""
    doc = dict(doc or {})
    form = {}
    if side == PEER:
        doc.pop("version", None)  # allowance version
        # allowance project-name: 1.29's rule (compose/cli/command.py normalize_name)
        name = re.sub(r"[^-_a-z0-9]", "", os.path.basename(project_dir).lower())
    else:
        name = doc.pop("name", None)
    doc.pop("name", None)
    form["name"] = name

    services = {}
    for sname, svc in (doc.pop("services", None) or {}).items():
        svc = dict(svc or {})
        if side == PEER and "networks" not in svc and "network_mode" not in svc:
            svc["networks"] = {"default": None}  # allowance default-network
        services[sname] = norm_service(svc)
    form["services"] = services

    for kind in ("networks", "volumes", "secrets", "configs"):
        resources = dict(doc.pop(kind, None) or {})
        if side == PEER and kind == "networks" and "default" not in resources and any(
                "default" in (s.get("networks") or {}) for s in services.values()):
            resources["default"] = {}  # allowance default-network
        out = {}
        for key, res in resources.items():
            res = norm_resource(kind, res)
            if side == PEER and not res.get("name"):
                # allowance resource-name (compose-go loader/normalize.go setNameFromKey)
                res["name"] = key if res.get("external") else "%s_%s" % (name, key)
            out[key] = res
        if out:
            form[kind] = out
    form.update(doc)  # any other top-level key, compared as printed
    return form


# ------------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------------


def show(value):
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(value)) + "]"
    return canon(value) if not isinstance(value, str) else repr(value)


def diff(a, b, path, out):
    """Differences between wharf's form `a` and docker-compose's form `b`."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            sub = "%s.%s" % (path, key) if path else str(key)
            if key not in b:
                out.append("%s: only wharf prints it (%s)" % (sub, show(a[key])))
            elif key not in a:
                out.append("%s: only docker-compose prints it (%s)" % (sub, show(b[key])))
            else:
                diff(a[key], b[key], sub, out)
        return
    if isinstance(a, frozenset) and isinstance(b, frozenset):
        if a != b:
            parts = []
            if a - b:
                parts.append("only wharf %s" % show(frozenset(a - b)))
            if b - a:
                parts.append("only docker-compose %s" % show(frozenset(b - a)))
            out.append("%s: %s" % (path, ", ".join(parts)))
        return
    if a != b:
        out.append("%s: wharf %s != docker-compose %s" % (path, show(a), show(b)))


# ------------------------------------------------------------------------------------------------
# Running the tools
# ------------------------------------------------------------------------------------------------


def first_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if not lines:
        return "(no message)"
    line = lines[0]
    if line.endswith(":") and len(lines) > 1:  # "... is invalid because:" says nothing alone
        line += " " + lines[1]
    return line


def clean_env(home):
    """The identical, minimal environment both tools run with."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "NO_COLOR": "1",
    }


def run(argv, cwd, env):
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % TIMEOUT
    except OSError as err:
        return None, "", str(err)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


class YamlReader:
    """PyYAML from this interpreter, or else from docker-compose's own interpreter."""

    def __init__(self, compose_path):
        try:
            import yaml  # noqa: F401  (python3-yaml, a dependency of Debian's docker-compose)
            self._yaml = yaml
            self._python = None
        except ImportError:
            self._yaml = None
            with open(compose_path, "rb") as f:
                shebang = f.readline().decode("utf-8", "replace")
            if not shebang.startswith("#!"):
                raise SystemExit("no PyYAML in %s, and %s has no #! line" % (sys.executable, compose_path))
            self._python = shebang[2:].strip().split()

    def load(self, text):
        if self._yaml is not None:
            return self._yaml.safe_load(text)
        code = "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout, default=str)"
        proc = subprocess.run(self._python + ["-c", code], input=text.encode("utf-8"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        if proc.returncode != 0:
            raise ValueError(proc.stderr.decode("utf-8", "replace"))
        return json.loads(proc.stdout)


def compare_project(project_dir, wharf, peer, yaml_reader, env):
    """One verdict line (without the project name) and its kind."""
    rc, out, err = run([peer, "config"], project_dir, env)
    if rc != 0:
        return "rejected", "peer rejects: " + first_line(err or out)
    try:
        peer_doc = yaml_reader.load(out)
    except Exception as exc:  # noqa: BLE001
        return "rejected", "peer rejects: unreadable YAML output: %s" % first_line(str(exc))

    rc, out, err = run([wharf, "config", "--format", "json"], project_dir, env)
    if rc != 0:
        return "failed", "wharf fails: " + first_line(err or out)
    try:
        wharf_doc = json.loads(out)
    except ValueError as exc:
        return "failed", "wharf fails: its output is not JSON: %s" % exc

    problems = []
    wharf_dollars, peer_dollars = [], []
    wharf_doc = unescape_document(wharf_doc, "", wharf_dollars)
    peer_doc = unescape_document(peer_doc, "", peer_dollars)
    for path, text in wharf_dollars:
        problems.append("%s: wharf prints an unescaped `$` in %r (compose config writes `$$`)" % (path, text))
    for path, text in peer_dollars:
        problems.append("%s: docker-compose prints an unescaped `$` in %r" % (path, text))

    diff(semantic(wharf_doc, project_dir, WHARF), semantic(peer_doc, project_dir, PEER), "", problems)
    if problems:
        return "different", "DIFFERENT: " + "; ".join(problems)
    return "same", "same"


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    corpus = os.path.abspath(argv[1] if len(argv) == 2 else DEFAULT_CORPUS)
    if not os.path.isdir(corpus):
        print("no corpus directory at %s" % corpus, file=sys.stderr)
        return 2
    wharf = os.environ.get("WHARF") or os.path.join(REPO, "target", "debug", "wharf")
    wharf = os.path.abspath(wharf)
    if not os.access(wharf, os.X_OK):
        print("no wharf binary at %s (set WHARF)" % wharf, file=sys.stderr)
        return 2
    peer = shutil.which("docker-compose")
    if peer is None:
        print("docker-compose is not on PATH", file=sys.stderr)
        return 2
    yaml_reader = YamlReader(peer)

    projects = sorted(d for d in os.listdir(corpus) if os.path.isdir(os.path.join(corpus, d)))
    counts = {"same": 0, "different": 0, "rejected": 0, "failed": 0}
    with tempfile.TemporaryDirectory(prefix="wharf-peer-home-") as home:
        env = clean_env(home)
        for name in projects:
            kind, line = compare_project(os.path.join(corpus, name), wharf, peer, yaml_reader, env)
            counts[kind] += 1
            print("%s: %s" % (name, line), flush=True)
    print("%d projects: %d same, %d different, %d rejected by docker-compose 1.29, %d failed in wharf"
          % (len(projects), counts["same"], counts["different"], counts["rejected"], counts["failed"]))
    return 1 if counts["different"] or counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
