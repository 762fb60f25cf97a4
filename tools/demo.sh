#!/usr/bin/env bash
# Runs the demo natively: a fresh vhost and an empty data directory, the
# lottery and N agencies on the generated data in .data/, and each agency's
# winner count at the end. Usage: tools/demo.sh [BIN_DIR] (default bin).
set -euo pipefail

bin=${1:-bin}
agencies=${AGENCIES:-5}
vhost=${DEMO_VHOST:-lottery-demo}
api=${RABBITMQ_API:-http://localhost:15672}
auth="${RABBITMQ_USER:-guest}:${RABBITMQ_PASS:-guest}"
# Every URL of AMQP_URL (a list, for the nodes of a cluster) on the demo's vhost.
AMQP_URL=$(tr ',' '\n' <<<"${AMQP_URL:-amqp://guest:guest@localhost:5672/}" | sed -E "s|^ *(amqps?://[^/]*).*|\1/$vhost|" | paste -sd, -)
export AMQP_URL

# A new draw: fresh vhost, empty data directory.
curl -fsS -u "$auth" -X DELETE "$api/api/vhosts/$vhost" -o /dev/null 2>/dev/null || true
curl -fsS -u "$auth" -X PUT "$api/api/vhosts/$vhost" -o /dev/null
curl -fsS -u "$auth" -X PUT -H 'Content-Type: application/json' \
  -d '{"configure":".*","write":".*","read":".*"}' "$api/api/permissions/$vhost/${RABBITMQ_USER:-guest}" -o /dev/null
rm -rf .data/lottery .data/logs
mkdir -p .data/logs

LOTTERY_AGENCIES=$agencies LOTTERY_DATA_DIR=.data/lottery "$bin/lottery" > .data/logs/lottery.log 2>&1 &
lottery=$!
declare -A agency_of # pid → agency number
trap 'kill -TERM $lottery "${!agency_of[@]}" 2>/dev/null || true' EXIT
for i in $(seq 1 "$agencies"); do
  CLI_ID=$i CLI_DATA_FILE=.data/agency-$i.csv "$bin/agency" > ".data/logs/agency-$i.log" 2>&1 &
  agency_of[$!]=$i
done
# Each agency ends once it has its winners. A lottery that ends first never
# answers them: the demo stops them and fails, with the lottery's last lines.
status=0
while [ ${#agency_of[@]} -gt 0 ]; do
  code=0
  wait -n -p ended "$lottery" "${!agency_of[@]}" || code=$?
  if [ "$ended" = "$lottery" ]; then
    echo "the lottery exited with status $code before every agency had its winners:"
    tail -n 3 .data/logs/lottery.log
    kill -TERM "${!agency_of[@]}" 2>/dev/null || true
    wait "${!agency_of[@]}" 2>/dev/null || true
    trap - EXIT
    echo "logs in .data/logs/"
    exit 1
  fi
  i=${agency_of[$ended]}
  unset "agency_of[$ended]"
  [ "$code" = 0 ] || { status=1; echo "agency $i failed:"; tail -n 3 ".data/logs/agency-$i.log"; }
done
kill -TERM $lottery
wait $lottery || status=1
trap - EXIT

grep -h 'action: sorteo ' .data/logs/lottery.log || true
for i in $(seq 1 "$agencies"); do
  printf 'agency-%s: ' "$i"
  grep -h 'consulta_ganadores' ".data/logs/agency-$i.log" || echo "(no winners line)"
done
echo "logs in .data/logs/, bets in .data/lottery/bets.csv, vhost $vhost on $api"
exit $status
