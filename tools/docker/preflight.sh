#!/usr/bin/env bash
# Checks made before the compose stack is started or its passwords changed,
# so that a problem is named before anything changes. Run from the
# repository's root by make:
#
#   preflight.sh ports    the broker's host ports are free, or held by this
#                         stack's own broker (make docker-compose-up)
#   preflight.sh stopped  no container of the stack runs (make passwords)
#   preflight.sh files    the docker engine gives the broker BROKER_FILES open
#                         files (65536 by default), else .env gets the most it
#                         gives, and that holds AGENCIES agencies at once
#   preflight.sh queues   the running broker's queues are quorum queues, not
#                         classic ones left by an earlier version, and its
#                         open files hold AGENCIES agencies at once
#
# With CLUSTER=1 (make exports it) the stack is docker-compose.cluster.yaml's,
# whose three broker nodes publish a pair of ports each. A host port is read
# as docker compose reads it: from the environment, else from .env, else its
# default.
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
  local service name port inside published
  local specs=(rabbitmq:AMQP_PORT:5671:5671 rabbitmq:MANAGEMENT_PORT:15671:15671)
  if [ "${CLUSTER:-}" = 1 ]; then
    specs=(rabbitmq-1:AMQP_PORT:5671:5671 rabbitmq-1:MANAGEMENT_PORT:15671:15671
      rabbitmq-2:AMQP_PORT_2:5681:5671 rabbitmq-2:MANAGEMENT_PORT_2:15681:15671
      rabbitmq-3:AMQP_PORT_3:5691:5671 rabbitmq-3:MANAGEMENT_PORT_3:15691:15671)
  fi
  for spec in "${specs[@]}"; do
    IFS=: read -r service name port inside <<<"$spec"
    port=$(setting "$name" "$port")
    # This stack's own broker may hold it already: a second up changes nothing.
    published=$(docker compose port "$service" "$inside" 2>/dev/null || true)
    [ "$published" = "127.0.0.1:$port" ] && continue
    if listening "$port"; then
      fail docker_compose_up "127.0.0.1:$port, $service's $name, is in use by another program: set $name to a free port in .env, or stop what listens there; nothing was started"
    fi
  done
}

# stopped looks at every stack: they share .env and the users' passwords.
stopped() {
  local running
  running=$(for f in docker-compose.yaml docker-compose.cluster.yaml docker-compose.replicas.yaml; do
    [ -f "$f" ] && docker compose -f "$f" ps --status running --services 2>/dev/null
  done || true)
  if [ -n "$running" ]; then
    fail passwords "the compose stack is running ($(echo $running | tr ' ' ',')), and its broker would keep the old passwords: run make docker-compose-down (with CLUSTER=1 for the cluster), then make passwords, then make docker-compose-up (the broker loads the new passwords from definitions.json when it starts); nothing was changed"
  fi
}

# files makes sure the broker's containers can start with their open-file
# limit (the compose files ask for BROKER_FILES, 65536 by default): an engine
# whose containers may not have that many (its own limit is lower) would
# refuse to start them. Then BROKER_FILES goes into .env, as many as the
# engine gives, and the line says so, with what that holds.
files() {
  local want image most
  want=$(setting BROKER_FILES 65536)
  image=$(docker compose config --images 2>/dev/null | grep -v -e '-lottery:' -e '-agency:' | head -n 1)
  [ -n "$image" ] || fail docker_compose_up "cannot read the broker's image from the compose file (docker compose config --images)"
  if ! docker run --rm --ulimit "nofile=$want:$want" --entrypoint true "$image" >/dev/null 2>&1; then
    most=$(docker run --rm --entrypoint sh "$image" -c 'ulimit -Hn' 2>/dev/null) ||
      fail docker_compose_up "cannot start a container of $image to read the open-file limit the docker engine gives"
    [ "$most" = unlimited ] && most=1048576
    echo "action: limite_archivos | result: in_progress | motor_docker: gives containers at most $most open files, not $want | BROKER_FILES: $most, written to .env"
    if grep -q '^BROKER_FILES=' .env 2>/dev/null; then
      sed -i "s/^BROKER_FILES=.*/BROKER_FILES=$most/" .env
    else
      printf '# The most open files this docker engine gives a container (make docker-compose-up found\n# it): the broker'"'"'s limit. Raise the engine'"'"'s (LimitNOFILE) to hold more agencies.\nBROKER_FILES=%s\n' "$most" >>.env
    fi
    want=$most
  fi
  ${GO:-go} run ./tools/brokerlimit -files "$want" -agencies "${AGENCIES:-0}" || exit 1
}

# queues asks the broker's management API, over HTTPS with the deployment's
# authority, for the vhost's queues: a volume made by a version whose queues
# were classic keeps them so (an import never converts a queue, and the
# programs' passive check cannot see a type).
queues() {
  local port password json classic
  port=$(setting MANAGEMENT_PORT 15671)
  password=$(setting ADMIN_PASSWORD admin-demo)
  json=$(curl -fsS --cacert .certs/ca.pem -u "admin:$password" "https://127.0.0.1:$port/api/queues/lottery?columns=name,type") ||
    fail docker_compose_up "the broker's management API at https://127.0.0.1:$port did not answer the admin user: see make docker-compose-logs"
  classic=$(tr '}' '\n' <<<"$json" | sed -nE '/"type":"classic"/s/.*"name":"([^"]+)".*/\1/p' | paste -sd, -)
  if [ -n "$classic" ]; then
    fail docker_compose_up "the broker's data (its volume) holds classic queues made by an earlier version ($classic), which this version needs as quorum queues and RabbitMQ cannot convert: start a new draw with make reset, then make docker-compose-up; only the broker was started"
  fi
  ${GO:-go} run ./tools/brokerlimit -api "https://127.0.0.1:$port" -cacert .certs/ca.pem -user admin -password "$password" -agencies "${AGENCIES:-0}" ||
    fail docker_compose_up "only the broker was started"
}

case "${1:-}" in
  ports) ports ;;
  files) files ;;
  stopped) stopped ;;
  queues) queues ;;
  *) echo "usage: $0 ports|stopped|files|queues" >&2; exit 2 ;;
esac
