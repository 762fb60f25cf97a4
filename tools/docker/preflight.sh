#!/usr/bin/env bash
# Checks made before the compose stack is started or its passwords changed,
# so that a problem is named before anything changes. Run from the
# repository's root by make:
#
#   preflight.sh ports    the broker's host ports are free, or held by this
#                         stack's own broker (make docker-compose-up)
#   preflight.sh stopped  no container of the stack runs (make passwords)
#
# A host port is read as docker compose reads it: from the environment, else
# from .env, else its default.
set -euo pipefail

fail() {
  echo "action: $1 | result: fail | error: $2" >&2
  exit 1
}

# setting NAME DEFAULT: NAME's value as docker compose resolves it.
setting() {
  local v=${!1:-}
  if [ -z "$v" ] && [ -f .env ]; then
    v=$(sed -nE "s/^[[:space:]]*$1=[\"']?([^\"']*)[\"']?[[:space:]]*$/\1/p" .env | tail -n 1)
  fi
  echo "${v:-$2}"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ports() {
  local name port published
  for spec in AMQP_PORT:5672:5672 MANAGEMENT_PORT:15672:15672; do
    IFS=: read -r name port inside <<<"$spec"
    port=$(setting "$name" "$port")
    # This stack's own broker may hold it already: a second up changes nothing.
    published=$(docker compose port rabbitmq "$inside" 2>/dev/null || true)
    [ "$published" = "127.0.0.1:$port" ] && continue
    if listening "$port"; then
      fail docker_compose_up "127.0.0.1:$port, the broker's $name, is in use by another program (make demo and make test start a RabbitMQ on 5672 and 15672): set $name to a free port in .env, or stop what listens there; nothing was started"
    fi
  done
}

stopped() {
  local running
  running=$(docker compose ps --status running --services 2>/dev/null || true)
  if [ -n "$running" ]; then
    fail passwords "the compose stack is running ($(echo $running | tr ' ' ',')), and its broker would keep the old passwords: run make docker-compose-down, then make passwords, then make docker-compose-up (the broker loads the new passwords from definitions.json when it starts); nothing was changed"
  fi
}

case "${1:-}" in
  ports) ports ;;
  stopped) stopped ;;
  *) echo "usage: $0 ports|stopped" >&2; exit 2 ;;
esac
