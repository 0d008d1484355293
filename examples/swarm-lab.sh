#!/usr/bin/env bash
# Brings up a 3-node Docker Swarm on this machine to try `wharf --target swarm` on, and takes it
# down again. The nodes are docker-in-docker containers of the local engine, made the way the
# tests make theirs (tests/support/lab.rs, tests/support/swarm.rs): no `--privileged` (this kind
# of host cannot grant it), so a node gets every capability but SYS_RESOURCE and its entrypoint
# remounts /sys and the cgroup hierarchies read-write before it starts dockerd. Node 1 is the
# manager, nodes 2 and 3 join it as workers. The example images are copied into every node
# (`docker save | docker load`), where tasks find them after their pull fails. Beside the nodes
# runs a registry (Debian's docker-registry, plain HTTP on the engine's bridge, which the nodes
# trust), for `wharf --target swarm up --build`: it prints its address (REGISTRY=IP:5000).
#
# usage: bash examples/swarm-lab.sh up      start the lab (again: does nothing), print DOCKER_HOST
#        bash examples/swarm-lab.sh down    remove every container and volume the lab made
#        bash examples/swarm-lab.sh status  the nodes, as the manager sees them
#
# Environment:
#   WHARF_LAB_NAME=NAME   the lab's name, prefix of its containers (default wharf-lab)
#   WHARF_LAB_DIR=DIR     host folder holding the nodes' sockets (default /tmp/NAME)
#
# The node image (the tests' own, wharf-test/engine-node:N) is made if missing, from the recipe
# in tests/support/lab.rs, FROM the Debian base that examples/images.sh makes (run it first).
# No IPVS on this kind of host: a service's virtual IP and the ingress mesh do not answer, so
# use `endpoint_mode: dnsrr` and host-mode ports (examples/cluster/ does).
set -euo pipefail

cd "$(dirname "$0")"
examples=$(pwd)
name=${WHARF_LAB_NAME:-wharf-lab}
dir=${WHARF_LAB_DIR:-/tmp/$name}
label=wharf.example-lab=$name
nodes=(1 2 3)
NODE_IMAGE= # read from tests/support/lab.rs by make_node_image
DEMO_BASE_IMAGE=wharf-demo/debian:bookworm
IMAGES=(wharf-demo/busybox:latest)

log() { echo "swarm-lab: $*"; }
die() { echo "swarm-lab: error: $*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
node() { echo "$name-node-$1"; }
node_host() { echo "unix://$dir/node-$1/docker.sock"; }
on_node() { local n=$1; shift; DOCKER_HOST=$(node_host "$n") docker "$@"; }
node_ip() { docker inspect -f '{{.NetworkSettings.IPAddress}}' "$(node "$1")"; }

# The node image is the tests' own (tests/support/lab.rs): its tag, Dockerfile and entrypoint
# are read from there, so that the two never differ and one image serves both.
lab_rs=$examples/../tests/support/lab.rs
rust_const() { sed -n "s/^pub const $1: &str = \"\(.*\)\";\$/\1/p" "$lab_rs"; }

make_node_image() {
  local node_image base_image context
  node_image=$(rust_const NODE_IMAGE)
  base_image=$(rust_const BASE_IMAGE)
  have_image "$base_image" || base_image=$DEMO_BASE_IMAGE
  [ -n "$node_image" ] && [ -n "$base_image" ] || die "cannot read the node image's name from $lab_rs"
  NODE_IMAGE=$node_image
  have_image "$NODE_IMAGE" && return 0
  if ! have_image "$base_image"; then
    have_image "$DEMO_BASE_IMAGE" || die "no Debian base image: run 'bash examples/images.sh' first"
    docker tag "$DEMO_BASE_IMAGE" "$base_image"
  fi
  context=$(mktemp -d)
  # ENTRYPOINT is a raw string (r#"…"#), DOCKERFILE an escaped one ("…\\…\"…").
  awk '/^const ENTRYPOINT: &str = r#"/ { f = 1; sub(/^.*r#"/, "") } f && /^"#;$/ { exit } f' \
    "$lab_rs" >"$context/entrypoint.sh"
  awk '/^const DOCKERFILE: &str = "/ { f = 1; sub(/^const DOCKERFILE: &str = "/, "") }
       f && /^";$/ { exit }
       f { gsub(/\\\\/, "\\"); gsub(/\\"/, "\""); print }' "$lab_rs" >"$context/Dockerfile"
  grep -q '^exec dockerd' "$context/entrypoint.sh" && grep -q '^ENTRYPOINT' "$context/Dockerfile" ||
    { rm -rf "$context"; die "cannot read the node image's recipe from $lab_rs"; }
  log "making $NODE_IMAGE (about a minute: apt-get install docker.io)"
  if ! docker build -q -t "$NODE_IMAGE" "$context" >/dev/null; then
    rm -rf "$context"
    die "docker build of $NODE_IMAGE failed"
  fi
  rm -rf "$context"
}

start_node() {
  local n=$1 container
  container=$(node "$n")
  if [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ]; then
    log "$container runs already"
    return 0
  fi
  docker rm -f "$container" >/dev/null 2>&1 || true
  mkdir -p "$dir/node-$n"
  docker volume create --label "$label" "$container-docker" >/dev/null
  docker run -d --name "$container" --hostname "$container" --label "$label" \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt systempaths=unconfined \
    --device /dev/fuse --tmpfs /run:exec \
    -v "$container-docker:/var/lib/docker" -v "$dir/node-$n:/lab" \
    "$NODE_IMAGE" >/dev/null
  log "started $container"
}

wait_for_engine() {
  local n=$1 tries=0
  until on_node "$n" version --format '{{.Server.Version}}' >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || { docker logs --tail 20 "$(node "$n")" >&2; die "the engine of $(node "$n") does not answer"; }
    sleep 0.5
  done
}

swarm_state() { on_node "$1" info --format '{{.Swarm.LocalNodeState}}'; }

form_swarm() {
  local manager_ip n token
  manager_ip=$(node_ip 1)
  if [ "$(swarm_state 1)" != active ]; then
    on_node 1 swarm init --advertise-addr "$manager_ip" --listen-addr "$manager_ip:2377" >/dev/null
    log "$(node 1): swarm init (manager, $manager_ip)"
  fi
  token=$(on_node 1 swarm join-token -q worker)
  for n in "${nodes[@]:1}"; do
    [ "$(swarm_state "$n")" = active ] && continue
    on_node "$n" swarm join --token "$token" --advertise-addr "$(node_ip "$n")" "$manager_ip:2377" >/dev/null
    log "$(node "$n"): joined as a worker"
  done
  local tries=0
  until [ "$(on_node 1 node ls --format '{{.Status}} {{.Availability}}' | grep -c '^Ready Active$')" = "${#nodes[@]}" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 120 ] || { on_node 1 node ls >&2; die "not every node is Ready"; }
    sleep 0.5
  done
}

load_images() {
  local image n
  for image in "${IMAGES[@]}"; do
    have_image "$image" || die "$image is missing: run 'bash examples/images.sh' first"
    for n in "${nodes[@]}"; do
      if on_node "$n" image inspect "$image" >/dev/null 2>&1 &&
        [ "$(on_node "$n" image inspect -f '{{.Id}}' "$image")" = "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
        continue
      fi
      docker save "$image" | on_node "$n" load -q >/dev/null
      log "loaded $image into $(node "$n")"
    done
  done
}

registry() { echo "$name-registry"; }
registry_address() { echo "$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$(registry)"):5000"; }

# Debian's docker-registry (the host's binary, mounted into the nodes' Debian base), storage in
# the container, no authentication; the nodes' engines trust private addresses over HTTP.
start_registry() {
  local binary=/usr/bin/docker-registry container tries=0 base_image
  container=$(registry)
  if [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ]; then
    return 0
  fi
  if [ ! -x "$binary" ]; then
    log "no registry ($binary is missing: apt-get install docker-registry); up --build needs one"
    return 0
  fi
  docker rm -f "$container" >/dev/null 2>&1 || true
  base_image=$(rust_const BASE_IMAGE)
  have_image "$base_image" || base_image=$DEMO_BASE_IMAGE
  local config="version: 0.1
storage: {filesystem: {rootdirectory: /var/lib/registry}, delete: {enabled: true}}
http: {addr: ':5000'}"
  docker run -d --name "$container" --label "$label" -v "$binary:$binary:ro" -e "CONFIG=$config" \
    "$base_image" sh -c 'mkdir -p /etc/registry && printf %s "$CONFIG" > /etc/registry/config.yml &&
      exec /usr/bin/docker-registry serve /etc/registry/config.yml' >/dev/null
  local ip
  ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$container")
  until (exec 3<>"/dev/tcp/$ip/5000") 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { docker logs --tail 20 "$container" >&2; die "the registry does not answer"; }
    sleep 0.5
  done
  log "started $container at $(registry_address)"
}

up() {
  command -v docker >/dev/null || die "the docker CLI is not installed"
  docker info >/dev/null 2>&1 || die "the Docker Engine does not answer"
  local start=$SECONDS n
  make_node_image
  for n in "${nodes[@]}"; do start_node "$n"; done
  for n in "${nodes[@]}"; do wait_for_engine "$n"; done
  form_swarm
  load_images
  start_registry
  log "ready in $((SECONDS - start)) s:"
  on_node 1 node ls
  cat <<MSG

Point wharf (or docker) at the manager:

  export DOCKER_HOST=$(node_host 1)
  cd $examples/cluster && wharf --target swarm up -d
MSG
  docker inspect "$(registry)" >/dev/null 2>&1 && cat <<MSG

Build on the manager, push to the lab's registry, deploy by digest:

  export REGISTRY=$(registry_address)
  wharf --target swarm -f compose.yaml -f compose.build.yaml up -d --build
MSG
  cat <<MSG

Take the lab down with: ${WHARF_LAB_NAME:+WHARF_LAB_NAME=$name }bash $examples/swarm-lab.sh down
MSG
}

down() {
  local containers volumes
  containers=$(docker ps -aq --filter "label=$label")
  volumes=$(docker volume ls -q --filter "label=$label")
  # shellcheck disable=SC2086 # one id a word
  [ -z "$containers" ] || docker rm -f -v $containers >/dev/null
  # shellcheck disable=SC2086
  [ -z "$volumes" ] || docker volume rm -f $volumes >/dev/null
  rm -rf "$dir" 2>/dev/null || true
  log "removed $(echo "$containers" | grep -c . || true) containers and $(echo "$volumes" | grep -c . || true) volumes labelled $label"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) on_node 1 node ls 2>/dev/null || die "no lab named $name runs (bash $examples/swarm-lab.sh up)" ;;
  *) sed -n '2,21p' "$examples/swarm-lab.sh" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
