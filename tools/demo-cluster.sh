#!/usr/bin/env bash
# Runs the demo on the three-node cluster of make cluster and, once the
# lottery has stored its first batch, kills node 1's Erlang VM, as a machine
# that is lost: every program connected to it first, and each fails over to
# the other two; the draw goes on. Node 1 is started again at the end. Usage: tools/demo-cluster.sh [BIN_DIR].
set -euo pipefail

bin=${1:-bin}
export AMQP_URL=amqp://guest:guest@127.0.0.1:5701/,amqp://guest:guest@127.0.0.1:5702/,amqp://guest:guest@127.0.0.1:5703/
export RABBITMQ_API=http://127.0.0.1:15701
# Smaller batches, fewer in flight: a run long enough to lose a node in.
export CLI_BATCH_MAXAMOUNT=${CLI_BATCH_MAXAMOUNT:-100} CLI_CONFIRM_WINDOW=${CLI_CONFIRM_WINDOW:-4}

rm -f .data/logs/lottery.log
DEMO_VHOST=lottery-demo-cluster tools/demo.sh "$bin" &
demo=$!
for _ in $(seq 1 600); do
  grep -q "action: apuesta_recibida | result: success" .data/logs/lottery.log 2>/dev/null && break
  sleep 0.1
done
"$bin/cluster" kill 1
status=0
wait "$demo" || status=$?
"$bin/cluster" start 1
echo "failover, as the programs logged it:"
grep -h "action: conexion_broker | result: success" .data/logs/*.log | sed -E 's/ \| url: .*//' | sort | uniq -c
exit $status
