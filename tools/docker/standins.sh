#!/usr/bin/env bash
# Makes sure the docker engine has the images the compose deployment is built
# from, and prints which to use as KEY=VALUE lines:
#
#   RABBITMQ_IMAGE  the broker        (official: the image docker-compose.yaml pins)
#   GO_IMAGE        the build stage   (official: the GO_IMAGE default of the Dockerfiles)
#   RUNTIME_IMAGE   the programs' run (official: the RUNTIME_IMAGE default of the Dockerfiles)
#
# An official image that the engine has or can pull is used as it is. One that
# cannot be had (a machine that reaches no image registry) is replaced by a
# stand-in built here from Debian's packages and the host's Go toolchain, under
# a name of its own (lottery-standin/…): never under the official name, which
# would shadow the real image on a machine that can pull it. Stand-ins are
# built once and reused while their inputs are unchanged (label
# lottery.standin.key). How they differ from the official images:
#
# - lottery-standin/rabbitmq: Debian 13's rabbitmq-server (4.0.x, where the
#   official pin is a later 4.x) and Debian's Erlang, on a Debian 13 root made
#   by debootstrap. Like the official image it runs the server in the
#   foreground as the user rabbitmq with the Erlang VM as PID 1 (so SIGTERM
#   stops it cleanly), logs to the console, reads /etc/rabbitmq/conf.d (with
#   the official 10-defaults.conf), keeps its data in /var/lib/rabbitmq, takes
#   its node name from the hostname, has the management and prometheus
#   plugins enabled and rabbitmq-diagnostics on the PATH. It lacks
#   rabbitmqadmin, the official entrypoint's checks of deprecated variables
#   and its long-hostname switch.
# - lottery-standin/golang: the host's Go toolchain (its version, not the
#   pinned one) on the same Debian 13 root instead of Alpine, with the
#   project's modules already in its module cache and GOPROXY=off, because
#   containers here cannot reach the Go module proxy: the Dockerfiles' own
#   `go mod download` finds them there.
# - lottery-standin/static: an empty image with /etc/passwd, /etc/group and
#   /etc/nsswitch.conf naming root and nonroot (65532), /home/nonroot and /tmp,
#   as distroless's static:nonroot; no CA certificates and no time zone data,
#   which the programs do not use.
#
# Usage: tools/docker/standins.sh (from anywhere in the repository). Needs
# root to build the Debian root (debootstrap, installed from Debian's packages
# when missing), from the Debian mirror of the host's apt configuration.
set -euo pipefail

cd "$(dirname "$0")/../.."
say() { echo "action: standins | result: $1 | $2" >&2; }

official_rabbitmq=$(sed -nE 's/^    image: (rabbitmq:[^ ]+)$/\1/p' docker-compose.yaml | head -n 1)
official_go=$(sed -nE 's/^ARG GO_IMAGE=//p' lottery/Dockerfile)
official_runtime=$(sed -nE 's/^ARG RUNTIME_IMAGE=//p' lottery/Dockerfile)
for v in official_rabbitmq official_go official_runtime; do
  [ -n "${!v}" ] || { say fail "error: cannot read the official image ($v) from docker-compose.yaml or lottery/Dockerfile"; exit 1; }
done

have() { docker image inspect "$1" >/dev/null 2>&1 || docker pull -q "$1" >/dev/null 2>&1; }

# build ARGS…: docker build, quiet unless it fails.
build() {
  docker build "$@" >"$work/build.log" 2>&1 || { tail -n 20 "$work/build.log" >&2; say fail "error: docker build $*"; exit 1; }
}

# current NAME KEY: whether image NAME exists and was built from inputs KEY.
current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "lottery.standin.key"}}' "$1" 2>/dev/null)" = "$2" ]
}

# The stand-ins' inputs: this script and their build files.
self=$(find tools/docker/standins.sh tools/docker/rabbitmq tools/docker/golang tools/docker/static -type f | sort | xargs cat | sha256sum | cut -c1-16)
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# The Debian 13 root with rabbitmq-server, shared by the broker and build stand-ins.
root_image=lottery-standin/debian-rabbitmq:trixie
debian_root() {
  current "$root_image" "$self" && return
  [ "$(id -u)" = 0 ] || { say fail "error: building $root_image needs root (debootstrap)"; exit 1; }
  if ! command -v debootstrap >/dev/null; then
    say in_progress "installing debootstrap from Debian's packages"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  mirror=$(tools/docker/debian-mirror.sh) || { say fail "error: no Debian mirror to build $root_image from"; exit 1; }
  say in_progress "building $root_image with debootstrap from $mirror (about a minute)"
  debootstrap --variant=minbase --include=rabbitmq-server trixie "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; say fail "error: debootstrap trixie failed"; exit 1; }
  # Each container's data volume gets a cookie of its own at first start.
  rm -f "$work/root/var/lib/rabbitmq/.erlang.cookie"
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" -c . | docker import -c "LABEL lottery.standin.key=$self" - "$root_image" >/dev/null
  rm -rf "$work/root"
}

rabbitmq_image=lottery-standin/rabbitmq:4-management
rabbitmq() {
  if have "$official_rabbitmq"; then echo "RABBITMQ_IMAGE=$official_rabbitmq"; return; fi
  debian_root
  if ! current "$rabbitmq_image" "$self"; then
    say in_progress "building $rabbitmq_image (stand-in for $official_rabbitmq)"
    mkdir -p "$work/rabbitmq"
    cp tools/docker/rabbitmq/* "$work/rabbitmq/"
    build -t "$rabbitmq_image" --label "lottery.standin.key=$self" --build-arg "BASE=$root_image" "$work/rabbitmq"
  fi
  echo "RABBITMQ_IMAGE=$rabbitmq_image"
}

go_image=lottery-standin/golang:host
golang() {
  if have "$official_go"; then echo "GO_IMAGE=$official_go"; return; fi
  local key
  key=$(cat <(echo "$self") <(go version) go.mod go.sum | sha256sum | cut -c1-16)
  if ! current "$go_image" "$key"; then
    debian_root
    say in_progress "building $go_image (stand-in for $official_go: $(go version | cut -d' ' -f3) and the project's modules)"
    # The project's modules, from the host's module cache where it has them.
    GOFLAGS=-mod=mod GOMODCACHE="$work/gomodcache" \
      GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" go mod download
    cp tools/docker/golang/Dockerfile "$work/"
    local goroot
    goroot=$(go env GOROOT)
    tar -c -C "$(dirname "$goroot")" --transform "s|^$(basename "$goroot")\(/\|\$\)|go\1|" "$(basename "$goroot")" \
      -C "$work" Dockerfile gomodcache |
      build -t "$go_image" --label "lottery.standin.key=$key" --build-arg "BASE=$root_image" -
  fi
  echo "GO_IMAGE=$go_image"
}

runtime_image=lottery-standin/static:nonroot
runtime() {
  if have "$official_runtime"; then echo "RUNTIME_IMAGE=$official_runtime"; return; fi
  if ! current "$runtime_image" "$self"; then
    say in_progress "building $runtime_image (stand-in for $official_runtime)"
    cp -r tools/docker/static "$work/static"
    mkdir -p -m 1777 "$work/static/rootfs/tmp"
    mkdir -p "$work/static/rootfs/home/nonroot"
    build -t "$runtime_image" --label "lottery.standin.key=$self" "$work/static"
  fi
  echo "RUNTIME_IMAGE=$runtime_image"
}

rabbitmq
golang
runtime
# A stand-in built again leaves its earlier version untagged: remove it.
docker image prune -f --filter label=lottery.standin.key >/dev/null
