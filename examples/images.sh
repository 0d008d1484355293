#!/usr/bin/env bash
# Makes the images that the examples and the benchmarks use. There is no registry to pull from,
# so every image is made on this machine:
#
#   wharf-demo/busybox:latest   `docker import` of a root filesystem holding Debian's static
#                               busybox (package busybox-static) and its applet links (~2 MB)
#   wharf-demo/debian:bookworm  `docker import` of `debootstrap --variant=minbase bookworm`
#   wharf-demo/redis:latest     built from examples/images/redis/Dockerfile  (FROM the Debian base)
#   wharf-demo/python:latest    built from examples/images/python/Dockerfile (FROM the Debian base)
#
# An image that exists already is skipped, so a second run takes about a second. Containers reach
# Debian's package mirror, which is how `apt-get install` works inside the Dockerfiles.
#
# usage: bash examples/images.sh [--rebuild]      (--rebuild: make every image again)
#
# Environment:
#   WHARF_DEMO_MIRROR=URL   Debian mirror for debootstrap and apt (default http://deb.debian.org/debian)
#
# Making the busybox and Debian root filesystems needs root (apt-get install, debootstrap); as
# another user the script uses `sudo -n` when it may, and otherwise says what to run.
set -euo pipefail

cd "$(dirname "$0")"
examples=$(pwd)
mirror=${WHARF_DEMO_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
rebuild=no
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=yes ;;
  -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

BUSYBOX=wharf-demo/busybox:latest
DEBIAN=wharf-demo/debian:$suite
BUILT=(redis python) # examples/images/<name>/Dockerfile -> wharf-demo/<name>:latest
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "images: $*"; }
die() { echo "images: error: $*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
size_of() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }

# as_root CMD...: runs CMD as root (directly, or through `sudo -n`), or stops and says why.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "'$*' needs root; run this script as root (or with sudo)"
  fi
}

apt_updated=no
apt_install() {
  if [ "$apt_updated" = no ]; then
    log "  apt-get update"
    run_logged "$work/apt.log" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=yes
  fi
  log "  apt-get install $*"
  run_logged "$work/apt.log" as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# run_logged LOG CMD...: runs CMD with its output in LOG; on failure shows the end of LOG.
run_logged() {
  local out=$1
  shift
  if ! "$@" >"$out" 2>&1; then
    echo "images: '$*' failed; the end of its output ($out):" >&2
    tail -n 30 "$out" | sed 's/^/    /' >&2
    exit 1
  fi
}

command -v docker >/dev/null || die "the docker CLI is not installed"
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer (is dockerd running?)"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/wharf-images.XXXXXX")
cleanup() {
  # debootstrap leaves root-owned files behind
  rm -rf "$work" 2>/dev/null || as_root rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

total_start=$EPOCHREALTIME
made=()

# --- wharf-demo/busybox ---------------------------------------------------------------------------
is_static() {
  local out
  out=$(LC_ALL=C ldd "$1" 2>&1) || true
  case $out in *"not a dynamic executable"* | *"statically linked"*) return 0 ;; *) return 1 ;; esac
}

find_static_busybox() {
  local candidate
  for candidate in /bin/busybox /usr/bin/busybox; do
    if [ -x "$candidate" ] && is_static "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

make_busybox() {
  local start=$EPOCHREALTIME bb rootfs=$work/busybox-rootfs applet count=0
  log "$BUSYBOX: docker import of a root filesystem with Debian's static busybox"
  if ! bb=$(find_static_busybox); then
    if [ ! -e /bin/busybox ]; then
      apt_install busybox-static
      bb=$(find_static_busybox) || die "busybox-static is installed but /bin/busybox is not a static binary"
    else
      # A dynamic busybox (Debian's `busybox` package) is installed: leave it alone and take
      # the static binary out of the busybox-static package instead.
      log "  /bin/busybox is dynamically linked; unpacking the busybox-static package instead"
      (cd "$work" && apt-get download -qq busybox-static) || die "apt-get download busybox-static failed"
      dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox-static"
      bb=$work/busybox-static/bin/busybox
      is_static "$bb" || die "$bb is not a static binary"
    fi
  fi
  log "  busybox: $bb ($("$bb" 2>&1 | head -n 1 | awk '{ print $1, $2 }'))"

  mkdir -p "$rootfs"/{bin,etc,root,tmp,proc,sys,dev,home,var/www,usr/local/bin}
  chmod 1777 "$rootfs/tmp"
  cp "$bb" "$rootfs/bin/busybox"
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] && continue
    ln -s busybox "$rootfs/bin/$applet"
    count=$((count + 1))
  done
  ln -s bin "$rootfs/sbin"
  ln -s ../bin "$rootfs/usr/bin"
  ln -s ../bin "$rootfs/usr/sbin"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  log "  root filesystem: busybox and $count applet links in /bin"

  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
    docker import \
      --change 'CMD ["sh"]' \
      --change "ENV $PATH_ENV" \
      --change 'LABEL org.wharf.demo=busybox' \
      --message "wharf demo: Debian's busybox-static" \
      - "$BUSYBOX" >/dev/null
  log "  made $BUSYBOX ($(size_of "$BUSYBOX")) in $(since "$start")"
  made+=("$BUSYBOX")
}

# --- wharf-demo/debian ----------------------------------------------------------------------------
make_debian() {
  local start=$EPOCHREALTIME rootfs=$work/debian-rootfs step
  log "$DEBIAN: debootstrap --variant=minbase $suite from $mirror, then docker import"
  if ! command -v debootstrap >/dev/null; then
    apt_install debootstrap
  fi
  log "  debootstrap (a minute or two; output in $work/debootstrap.log)"
  step=$EPOCHREALTIME
  run_logged "$work/debootstrap.log" as_root debootstrap --variant=minbase "$suite" "$rootfs" "$mirror"
  log "  debootstrap took $(since "$step")"

  # What a container base needs: apt sources with updates, no recommends, no docs or man pages,
  # and no package lists or .deb files kept in the image.
  # shellcheck disable=SC2016 # the script's variables are its own arguments
  as_root sh -c '
    set -e
    root=$1 mirror=$2 suite=$3
    printf "deb %s %s main\ndeb %s %s-updates main\n" "$mirror" "$suite" "$mirror" "$suite" \
      >"$root/etc/apt/sources.list"
    printf "APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\n" \
      >"$root/etc/apt/apt.conf.d/90wharf-demo-norecommends"
    printf "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true\"; };\n" \
      >"$root/etc/apt/apt.conf.d/90wharf-demo-clean"
    printf "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\npath-exclude=/usr/share/locale/*\npath-include=/usr/share/locale/locale.alias\n" \
      >"$root/etc/dpkg/dpkg.cfg.d/90wharf-demo-excludes"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
      "$root"/var/log/*.log "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    echo wharf-demo >"$root/etc/hostname"
    : >"$root/etc/resolv.conf"
  ' sh "$rootfs" "$mirror" "$suite"

  as_root tar --numeric-owner -C "$rootfs" -c . |
    docker import \
      --change 'CMD ["bash"]' \
      --change "ENV $PATH_ENV" \
      --change 'ENV LANG=C.UTF-8' \
      --change 'LABEL org.wharf.demo=debian' \
      --message "wharf demo: debootstrap --variant=minbase $suite" \
      - "$DEBIAN" >/dev/null
  as_root rm -rf "$rootfs"
  log "  made $DEBIAN ($(size_of "$DEBIAN")) in $(since "$start")"
  made+=("$DEBIAN")
}

# --- wharf-demo/<name> from examples/images/<name>/Dockerfile --------------------------------------
make_built() {
  local name=$1 image=wharf-demo/$1:latest start=$EPOCHREALTIME
  log "$image: docker build examples/images/$name (output in $work/build-$name.log)"
  # The classic builder uses the local base image as it is; nothing is pulled.
  run_logged "$work/build-$name.log" env DOCKER_BUILDKIT=0 \
    docker build --pull=false --label org.wharf.demo="$name" -t "$image" "$examples/images/$name"
  log "  made $image ($(size_of "$image")) in $(since "$start")"
  made+=("$image")
}

if [ "$rebuild" = yes ] || ! have_image "$BUSYBOX"; then
  make_busybox
else
  log "$BUSYBOX exists ($(size_of "$BUSYBOX")), skipped"
fi

base_made=no
if [ "$rebuild" = yes ] || ! have_image "$DEBIAN"; then
  make_debian
  base_made=yes
else
  log "$DEBIAN exists ($(size_of "$DEBIAN")), skipped"
fi

for name in "${BUILT[@]}"; do
  # A new base means the images made from it are remade too.
  if [ "$rebuild" = yes ] || [ "$base_made" = yes ] || ! have_image "wharf-demo/$name:latest"; then
    make_built "$name"
  else
    log "wharf-demo/$name:latest exists ($(size_of "wharf-demo/$name:latest")), skipped"
  fi
done

# --- check that the images do what the examples expect ---------------------------------------------
if [ ${#made[@]} -gt 0 ]; then
  start=$EPOCHREALTIME
  log "checking the images"
  docker run --rm --network none "$BUSYBOX" sh -c '
    for a in sh httpd wget nc sleep cat echo hostname env ls ps kill true false grep sed; do
      command -v "$a" >/dev/null || { echo "missing applet: $a" >&2; exit 1; }
    done' || die "$BUSYBOX lacks an applet the examples use"
  docker run --rm --network none "$DEBIAN" sh -c 'grep -q "^VERSION_CODENAME=bookworm" /etc/os-release' ||
    die "$DEBIAN is not a Debian bookworm root filesystem"
  docker run --rm --network none wharf-demo/redis:latest redis-server --version | sed 's/^/images:   /'
  docker run --rm --network none wharf-demo/redis:latest redis-cli --version | sed 's/^/images:   /'
  docker run --rm --network none wharf-demo/python:latest python3 --version | sed 's/^/images:   /'
  log "  checked in $(since "$start")"
fi

log "done in $(since "$total_start"):"
for image in "$BUSYBOX" "$DEBIAN" "${BUILT[@]/#/wharf-demo/}"; do
  case $image in *:*) ;; *) image=$image:latest ;; esac
  printf 'images:   %-28s %s  %s\n' "$image" "$(docker image inspect -f '{{.Id}}' "$image" | cut -c8-19)" \
    "$(size_of "$image")"
done
