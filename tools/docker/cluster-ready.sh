#!/usr/bin/env bash
# The compose cluster's rabbitmq-ready service: it ends with success once
# the cluster is ready for the programs, and fails, saying why, if it does
# not get there in time.
#
#   - every node of NODES runs, in one cluster;
#   - the vhost VHOST holds every queue of QUEUES (definitions.json is
#     imported: with cluster_formation.target_cluster_size_hint, only once
#     the cluster has formed);
#   - every one of them is a quorum queue with a member on each node: a
#     queue declared while a node had not joined yet is grown onto it.
#
# It talks to the nodes with RabbitMQ's own CLI tools, which share the nodes'
# Erlang cookie through RABBITMQ_ERLANG_COOKIE. Every step is idempotent:
# docker compose runs it again at each up.
set -euo pipefail

: "${NODES:?NODES: the nodes of the cluster, as rabbit@host, separated by spaces}"
: "${VHOST:?VHOST: the vhost of the programs}"
: "${QUEUES:?QUEUES: the queues of the vhost, separated by spaces}"
read -r -a nodes <<<"$NODES"
read -r -a queues <<<"$QUEUES"
first=${nodes[0]}
deadline=$((SECONDS + ${READY_SECONDS:-180}))

say() { echo "action: cluster_listo | result: $1 | $2"; }
fail() {
  say fail "error: $1" >&2
  exit 1
}

# until DESCRIPTION COMMAND...: runs COMMAND until it succeeds, or fails the
# script naming DESCRIPTION at the deadline.
until_ok() {
  local what=$1
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what did not happen within ${READY_SECONDS:-180} s: see the nodes' logs (make docker-compose-logs CLUSTER=1)"
    say in_progress "esperando: $what"
    sleep 2
  done
}

joined() {
  local running
  running=$(rabbitmq-diagnostics -q -n "$first" cluster_status --formatter json | grep -o '"running_nodes":\[[^]]*\]')
  for n in "${nodes[@]}"; do
    [[ $running == *"\"$n\""* ]] || return 1
  done
}

# listed prints the vhost's queues as "name type members" lines, members
# joined by commas.
listed() {
  rabbitmqctl -q -n "$first" list_queues -p "$VHOST" --no-table-headers name type members |
    awk -F'\t' '{ gsub(/[][ ]/, "", $3); print $1, $2, $3 }'
}

imported() {
  local have
  have=$(listed | awk '{print $1}')
  for q in "${queues[@]}"; do
    grep -qxF "$q" <<<"$have" || return 1
  done
}

until_ok "all ${#nodes[@]} nodes in one cluster" joined
until_ok "definitions.json imported into vhost $VHOST" imported

classic=$(listed | awk '$2 != "quorum" {print $1}' | paste -sd, -)
[ -z "$classic" ] || fail "vhost $VHOST holds classic queues ($classic), which this version needs as quorum queues and RabbitMQ cannot convert: start a new draw with make reset CLUSTER=1"

for n in "${nodes[@]}"; do
  rabbitmq-queues -q -n "$n" grow "$n" all --vhost-pattern "^$VHOST\$" --queue-pattern '.*' --errors-only >/dev/null ||
    fail "could not grow the queues of vhost $VHOST onto $n"
done

short=$(listed | awk -v want="${#nodes[@]}" '{ if (split($3, m, ",") != want) print $1 }' | paste -sd, -)
[ -z "$short" ] || fail "queues $short of vhost $VHOST have no member on some node after growing them"
say success "nodos: ${#nodes[@]} | colas: ${#queues[@]} | miembros_por_cola: ${#nodes[@]}"
