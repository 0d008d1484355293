#!/usr/bin/env bash
# Sweeps what earlier test runs left on the Docker Engine when they were killed before their
# `Cleanup` guard ran (a hung test ended by nextest's timeout, a Ctrl-C, a crash): the
# containers, networks and volumes labelled with a test project, its keepers and supervisors,
# and the images wharf built for it. nextest runs it before the tests (.config/nextest.toml).
#
# Only test projects are touched: names made by tests/support's `unique_project`,
# `wt-<prefix>-<pid in hex>-<n>-<time>`, and only those whose test process (<pid>) is gone, so
# that a suite running in parallel on the same engine keeps what it is using.
set -uo pipefail

label=com.docker.compose.project

# Whether $1 is a test project whose test process no longer runs.
dead_test_project() {
  [[ $1 =~ ^wt-.+-([0-9a-f]+)-[0-9]+-[0-9a-f]+$ ]] || return 1
  [ ! -e "/proc/$((16#${BASH_REMATCH[1]}))" ]
}

# The objects of a `docker <kind> ls` whose project label names a dead test project, as IDs.
dead_objects() {
  local kind=$1 format=$2 id project
  docker "$kind" ls "${@:3}" --filter "label=$label" --format "$format" 2>/dev/null |
    while read -r id project; do
      dead_test_project "$project" && echo "$id"
    done
}

swept=0
count() { swept=$((swept + $#)); }

# Keepers first, or they would restore what follows.
for proc in /proc/[0-9]*; do
  exe=$(readlink "$proc/exe" 2>/dev/null) || continue
  [ "$(basename "${exe% (deleted)}")" = wharf ] || continue
  mapfile -d '' args <"$proc/cmdline" 2>/dev/null || continue
  for arg in "${args[@]}"; do
    if dead_test_project "$arg"; then
      kill -9 "${proc#/proc/}" 2>/dev/null && count "${proc#/proc/}"
      break
    fi
  done
done

mapfile -t containers < <(dead_objects ps "{{.ID}} {{.Label \"$label\"}}" -a)
[ ${#containers[@]} -eq 0 ] || { docker rm -f -v "${containers[@]}" >/dev/null 2>&1; count "${containers[@]}"; }
mapfile -t networks < <(dead_objects network "{{.ID}} {{.Label \"$label\"}}")
for network in "${networks[@]}"; do docker network rm "$network" >/dev/null 2>&1 && count "$network"; done
mapfile -t volumes < <(dead_objects volume "{{.Name}} {{.Label \"$label\"}}")
for volume in "${volumes[@]}"; do docker volume rm -f "$volume" >/dev/null 2>&1 && count "$volume"; done

# Images wharf built carry the project's label; `image ls` cannot print labels, `inspect` can.
for image in $(docker image ls -q --no-trunc --filter "label=$label" 2>/dev/null | sort -u); do
  project=$(docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null)
  dead_test_project "$project" && docker image rm -f "$image" >/dev/null 2>&1 && count "$image"
done

# The private engines of tests/support/lab.rs (docker-in-docker nodes and their volumes) carry
# their lab's name, a test project name too, in a label of their own.
label=wharf.test-lab
mapfile -t nodes < <(dead_objects ps "{{.ID}} {{.Label \"$label\"}}" -a)
[ ${#nodes[@]} -eq 0 ] || { docker rm -f -v "${nodes[@]}" >/dev/null 2>&1; count "${nodes[@]}"; }
mapfile -t node_volumes < <(dead_objects volume "{{.Name}} {{.Label \"$label\"}}")
for volume in "${node_volumes[@]}"; do docker volume rm -f "$volume" >/dev/null 2>&1 && count "$volume"; done

echo "swept $swept leftovers of earlier test runs"
