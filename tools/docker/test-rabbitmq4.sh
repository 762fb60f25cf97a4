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
image=$(tools/docker/standins.sh | sed -n 's/^RABBITMQ_IMAGE=//p')
name=lottery-test-rabbitmq4-$$
# Host ports of docker's choosing, on 127.0.0.1.
docker run -d --rm --name "$name" --hostname "$name" -p 127.0.0.1::5672 -p 127.0.0.1::15672 "$image" >/dev/null
trap 'docker stop "$name" >/dev/null 2>&1 || true' EXIT
amqp_port=$(docker port "$name" 5672 | sed -n 's/^127.0.0.1://p' | head -n 1)
api_port=$(docker port "$name" 15672 | sed -n 's/^127.0.0.1://p' | head -n 1)
for _ in $(seq 1 120); do
  curl -fsS -u guest:guest "http://127.0.0.1:$api_port/api/overview" -o /dev/null 2>/dev/null && break
  sleep 1
done
version=$(curl -fsS -u guest:guest "http://127.0.0.1:$api_port/api/overview" | sed -nE 's/.*"rabbitmq_version":"([^"]+)".*/\1/p') ||
  { docker logs "$name" 2>&1 | tail -n 20 >&2; say fail "error: RabbitMQ in $image did not start"; exit 1; }
say success "RabbitMQ $version ($image) at 127.0.0.1:$amqp_port, management API at :$api_port"
AMQP_URL="amqp://guest:guest@127.0.0.1:$amqp_port/" RABBITMQ_API="http://127.0.0.1:$api_port" \
  go test -race -count=1 "$@" ./broker ./e2e
