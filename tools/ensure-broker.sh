#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers at AMQP_URL with its management API at
# RABBITMQ_API, for the tests and the demo. If none answers it starts one:
# the local rabbitmq-server (installing it from Debian's packages when it is
# missing and we are root), else a rabbitmq container where docker works.
# Otherwise it stops with a message that says how to get one. A broker it
# starts gets as many open files as this shell may give (at least 65536
# where it can); then it asks the broker's management API for its limit and
# says how many agencies it holds (tools/brokerlimit): a low limit is
# reported, whoever started the broker, and one that cannot hold AGENCIES
# agencies at once is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

AMQP_URL=${AMQP_URL:-amqp://guest:guest@localhost:5672/}
RABBITMQ_API=${RABBITMQ_API:-http://localhost:15672}
# AMQP_URL may list the nodes of a cluster, separated by commas: the first
# is the one this script would start.
first=${AMQP_URL%%,*}
hostport=${first#*://}
hostport=${hostport#*@}
hostport=${hostport%%/*}
host=${hostport%%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=5672

amqp_up() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
api_up() { curl -fsS -o /dev/null -u "${RABBITMQ_USER:-guest}:${RABBITMQ_PASS:-guest}" "$RABBITMQ_API/api/overview" 2>/dev/null; }
say() { echo "action: broker | result: $1 | $2"; }

wait_for() { # what, command, seconds
  for _ in $(seq 1 "$3"); do
    if "$2"; then return 0; fi
    sleep 1
  done
  return 1
}

limit() {
  ${GO:-go} run ./tools/brokerlimit -api "$RABBITMQ_API" -user "${RABBITMQ_USER:-guest}" -password "${RABBITMQ_PASS:-guest}" -agencies "${AGENCIES:-0}"
}

if amqp_up && api_up; then
  say success "amqp: $host:$port | api: $RABBITMQ_API"
  limit
  exit 0
fi

if ! amqp_up; then
  if ! command -v rabbitmq-server >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say in_progress "installing rabbitmq-server from Debian's packages"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
  if command -v rabbitmq-server >/dev/null 2>&1; then
    say in_progress "starting the local rabbitmq-server"
    # Open files for thousands of agencies: as many as this shell may give.
    ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    # Debian's rabbitmq-server switches to the user rabbitmq with su, whose
    # PAM session sets the soft limit back to 1,024; as that user already,
    # it starts the server directly, so root switches with setpriv instead.
    as_rabbitmq=()
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1 && command -v setpriv >/dev/null; then
      as_rabbitmq=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME=/var/lib/rabbitmq)
    fi
    # Refusing any message body over the protocol's limit (broker.MaxMessageBytes).
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-rabbit max_message_size 1048576" "${as_rabbitmq[@]}" rabbitmq-server -detached >/dev/null 2>&1 || true
    # The node registers a moment after -detached returns: until then
    # await_startup fails at once.
    started() { rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1; }
    wait_for startup started 120 || { say fail "error: the local rabbitmq-server did not start: see /var/log/rabbitmq/"; exit 1; }
  elif docker info >/dev/null 2>&1; then
    say in_progress "starting a rabbitmq container"
    docker run -d --rm --name lottery-test-rabbitmq -p 127.0.0.1:5672:5672 -p 127.0.0.1:15672:15672 \
      rabbitmq:4.1-management >/dev/null
  else
    say fail "error: no RabbitMQ answers at $host:$port and none can be started here: install rabbitmq-server (apt-get install rabbitmq-server) or docker, or set AMQP_URL and RABBITMQ_API to a running broker"
    exit 1
  fi
  wait_for amqp amqp_up 120 || { say fail "error: RabbitMQ did not open $host:$port"; exit 1; }
fi

if ! api_up && command -v rabbitmq-plugins >/dev/null 2>&1; then
  say in_progress "enabling rabbitmq_management"
  rabbitmq-plugins enable rabbitmq_management >/dev/null
fi
wait_for api api_up 120 || { say fail "error: the management API does not answer at $RABBITMQ_API: run rabbitmq-plugins enable rabbitmq_management"; exit 1; }
say success "amqp: $host:$port | api: $RABBITMQ_API"
limit
