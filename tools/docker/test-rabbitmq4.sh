#!/usr/bin/env bash
# Runs the broker and end-to-end tests against RabbitMQ 4.x, which differs
# from the 3.10 the other tests use where the project relies on it: quorum
# queues' delivery limit and dead-lettering, the message size limit, the
# refusals' wording. It starts the compose file's broker image (or its
# stand-in, tools/docker/standins.sh) in a container on free ports of
# 127.0.0.1, and removes it afterwards. Needs a docker engine: run it
# through tools/docker/with-engine.sh (make test-rabbitmq4 does).
#
# Usage: tools/docker/test-rabbitmq4.sh [go test arguments…]
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "action: test_rabbitmq4 | result: $1 | $2" >&2; }
# port CONTAINER PORT: the host port docker published PORT of CONTAINER on.
port() { docker port "$1" "$2" | sed -n 's/^127.0.0.1://p' | head -n 1; }
# overview CONTAINER: the management API's overview of the broker in
# CONTAINER, once it answers (within two minutes), else its log and a fail.
overview() {
  local api
  api=$(port "$1" 15672)
  for _ in $(seq 1 120); do
    curl -fsS -u guest:guest "http://127.0.0.1:$api/api/overview" 2>/dev/null && return
    sleep 1
  done
  docker logs "$1" 2>&1 | tail -n 20 >&2
  say fail "error: RabbitMQ in $image did not start ($1)"
  exit 1
}
image=$(tools/docker/standins.sh | sed -n 's/^RABBITMQ_IMAGE=//p')
name=lottery-test-rabbitmq4-$$
# Host ports of docker's choosing, on 127.0.0.1.
docker run -d --rm --name "$name" --hostname "$name" -p 127.0.0.1::5672 -p 127.0.0.1::15672 "$image" >/dev/null
trap 'docker stop "$name" >/dev/null 2>&1 || true' EXIT
amqp_port=$(port "$name" 5672)
api_port=$(port "$name" 15672)
version=$(overview "$name" | sed -nE 's/.*"rabbitmq_version":"([^"]+)".*/\1/p')
say success "RabbitMQ $version ($image) at 127.0.0.1:$amqp_port, management API at :$api_port"

# A second container of the image for the TLS tests: AMQP over TLS on 5671,
# wanting client certificates of an authority that tools/certs makes for
# this run, and logging their holders in by common name, as the compose
# brokers do; its plain listeners stay, for the tests' own set-up.
certs=$(mktemp -d)
tls_name=$name-tls
trap 'docker stop "$name" "$tls_name" >/dev/null 2>&1 || true; rm -rf "$certs"' EXIT
go run ./tools/certs -out "$certs" -agencies 2 >/dev/null
# What the container mounts: the throwaway authority's broker files,
# readable by the container's user rabbitmq, and its configuration.
mkdir -m 0755 "$certs/server"
cp "$certs/ca.pem" "$certs/broker.pem" "$certs/broker-key.pem" "$certs/server/"
printf '%s\n' 'listeners.ssl.default = 5671' \
  'ssl_options.cacertfile = /certs/ca.pem' 'ssl_options.certfile = /certs/broker.pem' 'ssl_options.keyfile = /certs/broker-key.pem' \
  'ssl_options.verify = verify_peer' 'ssl_options.fail_if_no_peer_cert = true' \
  'auth_mechanisms.1 = EXTERNAL' 'auth_mechanisms.2 = PLAIN' 'ssl_cert_login_from = common_name' >"$certs/server/tls.conf"
chmod 0644 "$certs/server/"*
docker run -d --rm --name "$tls_name" --hostname "$tls_name" -p 127.0.0.1::5671 -p 127.0.0.1::15672 \
  -v "$certs/server:/certs:ro" -v "$certs/server/tls.conf:/etc/rabbitmq/conf.d/90-tls.conf:ro" \
  -v "$PWD/config/enabled_plugins:/etc/rabbitmq/enabled_plugins:ro" "$image" >/dev/null
tls_port=$(port "$tls_name" 5671)
tls_api_port=$(port "$tls_name" 15672)
overview "$tls_name" >/dev/null
say success "RabbitMQ $version with TLS at 127.0.0.1:$tls_port, management API at :$tls_api_port"

AMQP_URL="amqp://guest:guest@127.0.0.1:$amqp_port/" RABBITMQ_API="http://127.0.0.1:$api_port" \
  TLS_TEST_CERTS="$certs" TLS_TEST_PORT="$tls_port" TLS_TEST_API="http://127.0.0.1:$tls_api_port" \
  go test -race -count=1 "$@" ./broker ./e2e
