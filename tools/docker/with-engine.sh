#!/usr/bin/env bash
# Runs a command with a docker engine and Compose v2 at hand, for
# make test-compose. Where no engine answers it starts dockerd in the
# background (installing Debian's docker.io first when dockerd is missing)
# and stops it when the command ends. Where the docker CLI lacks Compose v2
# it installs the plugin from Debian 13's docker-compose package, which it
# fetches with a Debian 13 package list of its own and unpacks into the CLI
# plugins folder: Debian 12 has no Compose v2, and no Debian 13 package is
# installed on the host. Packages come from the Debian mirror of the host's
# apt configuration. Installing needs root.
#
# Usage: tools/docker/with-engine.sh COMMAND [ARG…]
set -euo pipefail

say() { echo "action: docker_engine | result: $1 | $2" >&2; }
need_root() {
  [ "$(id -u)" = 0 ] || { say fail "error: $1 needs root: install it, or start a docker engine, and run again"; exit 1; }
}

if ! command -v dockerd >/dev/null && ! docker info >/dev/null 2>&1; then
  need_root "installing docker.io"
  say in_progress "installing docker.io from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

dockerd_pid=
stop_engine() {
  [ -n "$dockerd_pid" ] || return 0
  say in_progress "stopping the docker engine this run started (pid $dockerd_pid)"
  kill "$dockerd_pid" 2>/dev/null || true
  wait "$dockerd_pid" 2>/dev/null || true
}
trap stop_engine EXIT

if ! docker info >/dev/null 2>&1; then
  need_root "starting dockerd"
  log=$(mktemp -t dockerd.XXXXXX.log)
  say in_progress "starting dockerd (log: $log)"
  dockerd >"$log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 20 "$log" >&2; say fail "error: dockerd exited"; exit 1; }
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -n 20 "$log" >&2; say fail "error: dockerd did not answer within 60 s"; exit 1; }
fi

if ! docker compose version >/dev/null 2>&1; then
  need_root "installing Compose v2"
  say in_progress "installing Compose v2 from Debian 13's docker-compose package"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  mirror=$("$(dirname "$0")/debian-mirror.sh") || { say fail "error: no Debian mirror to fetch Compose v2 from"; exit 1; }
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=- -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" download -qq docker-compose >/dev/null)
  dpkg-deb -x "$apt_dir"/docker-compose_*.deb "$apt_dir/pkg"
  install -D -m 0755 "$apt_dir/pkg/usr/libexec/docker/cli-plugins/docker-compose" /usr/libexec/docker/cli-plugins/docker-compose
  rm -rf "$apt_dir"
  docker compose version >/dev/null || { say fail "error: Compose v2 did not install"; exit 1; }
fi

say success "$(docker version -f 'engine {{.Server.Version}}, client {{.Client.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose /')"
"$@"
