#!/usr/bin/env python3
"""The swarm's floor for bench/swarm_deploy.sh: a stack's cold deploy made of the fewest engine
calls, sent straight to a manager's unix socket with no client in between (no compose file, no
plan, no output), timed to the moment every task runs.

usage: swarm_floor.py SOCKET PROJECT SERVICES REPLICAS IMAGE

Creates the overlay network PROJECT_default, then the services PROJECT_s01 … (all at once, each
REPLICAS busybox sleepers with dnsrr, as bench/swarm_deploy.sh's file asks), then polls the tasks
every 0.1 s until each service runs REPLICAS of them. Prints the milliseconds from the first call
to that moment. It waits no settle time: the tools wait 5 s more for a deploy to stay converged
(the docker CLI's stability delay and wharf's), which the figures show beside it. What it made is
labelled com.docker.stack.namespace=PROJECT, for the caller to remove. Standard library only.
"""
import json
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from unix_http import UnixConnection

LIMIT_S = 300
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def call(path, method, url, body=None):
    conn = UnixConnection(path)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    conn.request(method, url, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.status not in (200, 201):
        sys.exit(f"swarm floor: {method} {url}: {response.status} {payload.decode(errors='replace')}")
    return json.loads(payload) if payload else None


def service_spec(project, index, replicas, image, network):
    return {
        "Name": f"{project}_s{index:02d}",
        "Labels": {"com.docker.stack.namespace": project},
        "TaskTemplate": {
            "ContainerSpec": {"Image": image, "Command": COMMAND},
            "Networks": [{"Target": network}],
        },
        "Mode": {"Replicated": {"Replicas": replicas}},
        "EndpointSpec": {"Mode": "dnsrr"},
    }


def running(path, names, replicas):
    filters = urllib.parse.quote(json.dumps({"service": names, "desired-state": ["running"]}))
    tasks = call(path, "GET", f"/tasks?filters={filters}")
    counts = {}
    for task in tasks:
        if task.get("Status", {}).get("State") == "running":
            counts[task["ServiceID"]] = counts.get(task["ServiceID"], 0) + 1
    return len(counts) == len(names) and all(n >= replicas for n in counts.values())


def main():
    path, project, services, replicas, image = sys.argv[1:6]
    services, replicas = int(services), int(replicas)
    start = time.perf_counter()
    network = call(path, "POST", "/networks/create", {
        "Name": f"{project}_default", "Driver": "overlay",
        "Labels": {"com.docker.stack.namespace": project},
    })["Id"]
    specs = [service_spec(project, i, replicas, image, network) for i in range(1, services + 1)]
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        list(pool.map(lambda spec: call(path, "POST", "/services/create", spec), specs))
    names = [spec["Name"] for spec in specs]
    while not running(path, names, replicas):
        if time.perf_counter() - start > LIMIT_S:
            sys.exit(f"swarm floor: the services did not run within {LIMIT_S} s")
        time.sleep(0.1)
    print(f"{(time.perf_counter() - start) * 1000:.1f}")


if __name__ == "__main__":
    main()
