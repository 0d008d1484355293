#!/usr/bin/env python3
"""Writes a large, realistic compose file for the loader benchmark.

usage: gen_compose.py N OUT_DIR

Creates OUT_DIR/compose.yaml with N services and OUT_DIR/.env. The services use the short
syntaxes that the loader has to normalize (ports, volumes, environment lists, depends_on lists),
long forms (depends_on with conditions, healthchecks, deploy), interpolation with defaults,
chains of dependencies (each service depends on the previous one, in chains of 10), three
networks and five named volumes. Debian's docker-compose 1.29 accepts the file.
"""
import os
import sys

NETWORKS = ["front", "back", "data"]
VOLUMES = [f"store{i}" for i in range(5)]


def service(i: int) -> list[str]:
    name = f"svc{i:04d}"
    out = [f"  {name}:"]
    out.append(f"    image: wharf-bench/app{i % 7}:${{BENCH_TAG:-1.{i % 3}}}")
    if i % 4 == 0:
        out.append(f"    command: [\"serve\", \"--port\", \"8080\", \"--id\", \"{i}\"]")
    else:
        out.append(f"    command: serve --port 8080 --id {i}")
    out.append("    ports:")
    out.append(f"      - \"{20000 + i}:8080\"")
    if i % 5 == 0:
        out.append(f"      - \"127.0.0.1:{30000 + i}:9090/udp\"")
    if i % 2 == 0:
        out.append("    environment:")
        out.append(f"      SERVICE_ID: \"{i}\"")
        out.append("      LOG_LEVEL: ${LOG_LEVEL:-info}")
        out.append(f"      UPSTREAM: http://svc{max(i - 1, 0):04d}:8080")
    else:
        out.append("    environment:")
        out.append(f"      - SERVICE_ID={i}")
        out.append("      - LOG_LEVEL=${LOG_LEVEL:-info}")
        out.append("      - REGION=$REGION")
    out.append("    labels:")
    out.append(f"      com.example.team: team{i % 12}")
    out.append(f"      com.example.index: \"{i}\"")
    nets = [NETWORKS[i % 3]] + ([NETWORKS[(i + 1) % 3]] if i % 3 == 0 else [])
    out.append("    networks:")
    for n in nets:
        out.append(f"      - {n}")
    if i % 5 == 0:
        out.append("    volumes:")
        out.append(f"      - {VOLUMES[(i // 5) % len(VOLUMES)]}:/var/lib/app")
        out.append("      - ./config:/etc/app:ro")
    if i % 10 != 0:
        prev = f"svc{i - 1:04d}"
        if i % 10 == 1 and i >= 10:
            # a long-form edge, plus a short edge back to the previous chain's head
            out.append("    depends_on:")
            out.append(f"      {prev}:")
            out.append("        condition: service_started")
            out.append(f"      svc{i - 11:04d}:")
            out.append("        condition: service_started")
        else:
            out.append("    depends_on:")
            out.append(f"      - {prev}")
    if i % 10 == 0:
        out.append("    healthcheck:")
        out.append("      test: [\"CMD\", \"wget\", \"-q\", \"-O-\", \"http://localhost:8080/health\"]")
        out.append("      interval: 10s")
        out.append("      timeout: 2s")
        out.append("      retries: 3")
    if i % 7 == 0:
        out.append("    restart: unless-stopped")
    return out


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: gen_compose.py N OUT_DIR")
    count = int(sys.argv[1])
    out_dir = sys.argv[2]
    os.makedirs(os.path.join(out_dir, "config"), exist_ok=True)
    lines = ["services:"]
    for i in range(count):
        lines.extend(service(i))
    lines.append("networks:")
    for n in NETWORKS:
        lines.append(f"  {n}:")
        if n == "data":
            lines.append("    internal: true")
    lines.append("volumes:")
    for v in VOLUMES:
        lines.append(f"  {v}:")
    with open(os.path.join(out_dir, "compose.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, ".env"), "w") as f:
        f.write("LOG_LEVEL=debug\nREGION=eu-west\n")


if __name__ == "__main__":
    main()
