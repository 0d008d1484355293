#!/usr/bin/env python3
"""The engine's floor for bench/converge.sh: the engine calls a step needs, sent straight to the
engine's unix socket with no client in between (no compose file, no plan, no output), timed.

usage: floor.py SOCKET start PROJECT
       floor.py SOCKET ordered PROJECT
       floor.py SOCKET resources PROJECT
       floor.py SOCKET creates PROJECT
       floor.py SOCKET replace CONTAINER
       floor.py SOCKET replace-overlapped CONTAINER
       floor.py SOCKET down PROJECT
       floor.py SOCKET down-ordered PROJECT
       floor.py SOCKET down-N PROJECT
       floor.py SOCKET restart PROJECT
       floor.py SOCKET list PROJECT
       floor.py SOCKET observe PROJECT

  start    every container of PROJECT (made beforehand, not running) started at once, in no order
  ordered  the same, each started as soon as the containers of the services it depends on have
           started (compose v2's depends_on label): the fastest start that honours the file
  resources
           PROJECT's networks and volumes created at once (PROJECT, made beforehand and not
           started, is removed and made again; only the networks and volumes are timed): what a
           cold `up` from nothing waits for before its first container
  creates  PROJECT's containers (made beforehand, not started) removed, then created again at
           once (only the creates and the connects to their other networks are timed): what a
           cold `up` from nothing sends the engine besides the starts
  replace  one recreate of CONTAINER as the tools make it, its engine calls back to back: create
           its successor under a temporary name with the same configuration (first network at
           create, the others connected before start, as API 1.41 requires), stop the old one,
           remove it, rename the successor, start it. The successor exists before the old one
           stops, so a create the engine refuses leaves the old one running
  replace-overlapped
           the same calls with the successor's create sent while the old one stops: one create
           faster, at the price of a service left stopped when the engine refuses the create
  down     every container of PROJECT stopped and removed at once (each its stop, then its
           remove), then the project's networks removed at once
  down-N   the same with at most N containers ending at once (bench/converge.sh --down-floors
           looks for the N the engine is fastest with)
  down-ordered
           every container of PROJECT stopped as soon as the containers of the services that
           depend on it have exited (their `die` event), removed once its stop returns, then the
           networks: the fastest `down` that honours depends_on, as both tools do
  restart  every container of PROJECT (running) killed at once, each started again as soon as
           its kill returned (the engine returns a SIGKILL's kill once the process is dead): the
           fastest any restarter can bring back replicas killed together, which pays the
           engine's clean-up after each exit besides the starts
  list     one listing of PROJECT's containers, what `ps` cannot do without (the fastest of 3)
  observe  PROJECT's containers, networks and volumes listed at once, what an unchanged `up`
           cannot do without (the fastest of 3)

Prints the milliseconds the calls took (the inspections that prepare them are not timed).
Standard library only; one connection per call, as a client pool would have them ready.
"""
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from unix_http import UnixConnection

PROJECT_LABEL = "com.docker.compose.project"


class Engine:
    def __init__(self, path):
        self.path = path

    def call(self, method, url, body=None, ok=(200, 201, 204, 304)):
        conn = UnixConnection(self.path)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, url, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        if response.status not in ok:
            sys.exit(f"floor: {method} {url}: {response.status} {payload.decode(errors='replace')}")
        return json.loads(payload) if payload else None

    def listing(self, kind, project):
        filters = urllib.parse.quote(json.dumps({"label": [f"{PROJECT_LABEL}={project}"]}))
        path = "/containers/json?all=1&" if kind == "containers" else f"/{kind}?"
        return self.call("GET", f"{path}filters={filters}")


def timed(action):
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def at_once(calls, at_a_time=None):
    """Runs every call at the same time (or `at_a_time` of them at once) and waits for all."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), at_a_time or len(calls)))) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def start(engine, project):
    containers = engine.listing("containers", project)
    ids = [c["Id"] for c in containers]
    return timed(lambda: at_once([lambda i=i: engine.call("POST", f"/containers/{i}/start") for i in ids]))


def depends_on(containers):
    """Per container ID, the IDs of the containers of the services it depends on (compose v2's
    `com.docker.compose.depends_on` label)."""
    by_service = {}
    for c in containers:
        by_service.setdefault(c["Labels"]["com.docker.compose.service"], []).append(c["Id"])
    return {
        c["Id"]: [
            i
            for dep in c["Labels"].get("com.docker.compose.depends_on", "").split(",")
            if dep
            for i in by_service.get(dep.split(":")[0], [])
        ]
        for c in containers
    }


def ordered(engine, project):
    """Starts every container as soon as the containers of the services it depends on have
    started: the order the file asks for, with nothing else holding a start back."""
    needs = depends_on(engine.listing("containers", project))
    started = {i: threading.Event() for i in needs}

    def one(i):
        for dep in needs[i]:
            started[dep].wait()
        engine.call("POST", f"/containers/{i}/start")
        started[i].set()

    return timed(lambda: at_once([lambda i=i: one(i) for i in needs]))


def create_like(engine, inspected, name):
    """Creates a container NAME with the configuration of an INSPECTED one: the first network
    at create, the others connected after it (API 1.41 takes one network at create), without
    the alias the engine gave the inspected container's short ID. Returns the new ID."""
    attached = list(inspected["NetworkSettings"]["Networks"].items())
    endpoint = lambda settings: {
        "Aliases": [a for a in (settings.get("Aliases") or []) if a != inspected["Id"][:12]],
    }
    body = dict(inspected["Config"])
    body["HostConfig"] = inspected["HostConfig"]
    body["NetworkingConfig"] = {"EndpointsConfig": {attached[0][0]: endpoint(attached[0][1])}}
    new = engine.call("POST", f"/containers/create?name={name}", body)["Id"]
    for network, settings in attached[1:]:
        engine.call("POST", f"/networks/{network}/connect", {"Container": new, "EndpointConfig": endpoint(settings)})
    return new


def resources(engine, project):
    """The project's networks and volumes created at once: what a cold `up` from nothing waits
    for before its first container, which `ordered` has made already. PROJECT (made beforehand,
    not started) is the model: removed, then its networks and volumes made again (timed), and its
    containers created again (untimed, not started), as they were."""
    containers = removed_containers(engine, project)
    networks = [engine.call("GET", f"/networks/{n['Id']}") for n in engine.listing("networks", project)]
    volumes = engine.listing("volumes", project)["Volumes"] or []
    for n in networks:
        engine.call("DELETE", f"/networks/{n['Id']}")
    for v in volumes:
        engine.call("DELETE", f"/volumes/{v['Name']}")
    network_bodies = [
        {key: n[key] for key in ("Name", "Driver", "Labels", "Internal", "Attachable", "EnableIPv6", "Options")}
        for n in networks
    ]
    volume_bodies = [{"Name": v["Name"], "Driver": v["Driver"], "Labels": v["Labels"]} for v in volumes]
    elapsed = timed(
        lambda: at_once(
            [lambda b=b: engine.call("POST", "/networks/create", b) for b in network_bodies]
            + [lambda b=b: engine.call("POST", "/volumes/create", b) for b in volume_bodies]
        )
    )
    for c in containers:
        create_like(engine, c, c["Name"].lstrip("/"))
    return elapsed


def creates(engine, project):
    """The project's containers created at once: the engine's work of a cold `up` from nothing
    besides the networks and the starts, which `ordered` has made already. PROJECT (made
    beforehand, not started) is the model: its containers removed, then created again (timed)."""
    containers = removed_containers(engine, project)
    return timed(lambda: at_once([lambda c=c: create_like(engine, c, c["Name"].lstrip("/")) for c in containers]))


def removed_containers(engine, project):
    """PROJECT's containers, inspected, then removed: the models of their creates."""
    containers = [engine.call("GET", f"/containers/{c['Id']}/json") for c in engine.listing("containers", project)]
    for c in containers:
        engine.call("DELETE", f"/containers/{c['Id']}?force=1")
    return containers


def replace(engine, container, overlapped=False):
    old = engine.call("GET", f"/containers/{urllib.parse.quote(container)}/json")
    name = old["Name"].lstrip("/")

    def create():
        return create_like(engine, old, f"{old['Id'][:12]}_{name}")

    def stop():
        engine.call("POST", f"/containers/{old['Id']}/stop?t=10")

    def create_then_stop():
        new = create()
        stop()
        return new

    def create_while_stopping():
        with ThreadPoolExecutor(max_workers=2) as pool:
            created = pool.submit(create)
            stop()
            return created.result()

    def calls():
        new = create_while_stopping() if overlapped else create_then_stop()
        engine.call("DELETE", f"/containers/{old['Id']}")
        engine.call("POST", f"/containers/{new}/rename?name={name}")
        engine.call("POST", f"/containers/{new}/start")

    return timed(calls)


def remove_network(engine, network):
    # The engine can refuse it for endpoints no container holds (moby/moby#42119): the network
    # stays behind, which only a restart of dockerd clears; the time is kept.
    if engine.call("DELETE", f"/networks/{network}", ok=(204, 403)) is not None:
        print(f"floor: WARNING: the engine's endpoint bug kept network {network}", file=sys.stderr)


def end(engine, container):
    engine.call("POST", f"/containers/{container}/stop?t=10")
    engine.call("DELETE", f"/containers/{container}")


def down(engine, project, at_a_time=None):
    ids = [c["Id"] for c in engine.listing("containers", project)]
    networks = [n["Id"] for n in engine.listing("networks", project)]

    def calls():
        at_once([lambda i=i: end(engine, i) for i in ids], at_a_time)
        at_once([lambda n=n: remove_network(engine, n) for n in networks])

    return timed(calls)


class Exits:
    """The `die` events of PROJECT's containers as the engine reports them, on a stream opened
    before anything is stopped: the moment a container's process has exited, before the
    engine's clean-up after it, which its stop call (and its `wait`) returns after."""

    def __init__(self, engine, project):
        self.died = {}
        self.lock = threading.Lock()
        filters = {"type": ["container"], "event": ["die"], "label": [f"{PROJECT_LABEL}={project}"]}
        self.conn = UnixConnection(engine.path)
        self.conn.request("GET", f"/events?filters={urllib.parse.quote(json.dumps(filters))}")
        self.response = self.conn.getresponse()
        threading.Thread(target=self.read, daemon=True).start()

    def event(self, container):
        with self.lock:
            return self.died.setdefault(container, threading.Event())

    def read(self):
        for line in self.response:
            if line.strip():
                self.event(json.loads(line)["id"]).set()


def down_ordered(engine, project):
    """`down` in the order the file asks for: every container stopped as soon as the containers
    of the services that depend on it have exited (their `die` event), removed once its stop
    returns, then the networks: the fastest down that honours depends_on, as both tools do."""
    containers = engine.listing("containers", project)
    networks = [n["Id"] for n in engine.listing("networks", project)]
    dependents = {c["Id"]: [] for c in containers}
    for container, needs in depends_on(containers).items():
        for dep in needs:
            dependents[dep].append(container)
    exits = Exits(engine, project)

    def one(i):
        for dependent in dependents[i]:
            exits.event(dependent).wait()
        end(engine, i)

    def calls():
        at_once([lambda i=i: one(i) for i in dependents])
        at_once([lambda n=n: remove_network(engine, n) for n in networks])

    return timed(calls)


def reads(engine, project, kinds):
    """The fastest of three times the project's `kinds` are listed, all at once: one read is
    the least a client can do, and the first after a change pays for the engine's caches."""
    return min(timed(lambda: at_once([lambda k=k: engine.listing(k, project) for k in kinds])) for _ in range(3))


def listing(engine, project):
    """`ps`: one listing of the project's containers."""
    return reads(engine, project, ["containers"])


def observe(engine, project):
    """An unchanged `up`: what any client must read to see that nothing changed, the project's
    containers, networks and volumes."""
    return reads(engine, project, ["containers", "networks", "volumes"])


def restart(engine, project):
    ids = [c["Id"] for c in engine.listing("containers", project)]

    def again(i):
        engine.call("POST", f"/containers/{i}/kill")
        engine.call("POST", f"/containers/{i}/start")

    return timed(lambda: at_once([lambda i=i: again(i) for i in ids]))


def main():
    steps = {
        "start": start,
        "ordered": ordered,
        "resources": resources,
        "creates": creates,
        "replace": replace,
        "replace-overlapped": lambda engine, container: replace(engine, container, overlapped=True),
        "down": down,
        "down-ordered": down_ordered,
        "restart": restart,
        "list": listing,
        "observe": observe,
    }
    if len(sys.argv) == 4 and sys.argv[2].startswith("down-") and sys.argv[2][5:].isdigit():
        at_a_time = int(sys.argv[2][5:])
        steps[sys.argv[2]] = lambda engine, project: down(engine, project, at_a_time)
    if len(sys.argv) != 4 or sys.argv[2] not in steps:
        sys.exit(__doc__)
    engine = Engine(sys.argv[1])
    step = steps[sys.argv[2]]
    print(f"{step(engine, sys.argv[3]):.1f}")


if __name__ == "__main__":
    main()
