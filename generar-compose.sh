#!/bin/sh
# The course's entry point: ./generar-compose.sh OUT N writes the compose
# file OUT for N agencies and, beside it, the broker definitions it loads
# (OUT's name with .definitions.json). It never writes the committed
# docker-compose.yaml and definitions.json (make compose does). Its agencies
# read the course's client/config.yaml (batch.maxAmount and log.level), which
# must exist when the stack starts. See "Grading with the course's tests" in
# the README.
set -eu

usage() {
	echo "usage: $0 OUT N: write the compose file OUT for N agencies" >&2
	exit 2
}
[ $# -eq 2 ] || usage
case $2 in '' | *[!0-9]*) usage ;; esac

repo=$(cd "$(dirname "$0")" && pwd)
case $1 in
/*) out=$1 ;;
*) out=$(pwd)/$1 ;;
esac
if [ "$out" = "$repo/docker-compose.yaml" ]; then
	echo "$0: $1 is the committed compose file: make compose AGENCIES=$2 writes it" >&2
	exit 2
fi
cd "$repo"

if command -v go >/dev/null 2>&1; then
	exec go run ./tools/compose -agencies "$2" -compose "$out" -agency-config client/config.yaml
fi

# Without Go, the generator runs in the image the Dockerfiles build with,
# which sees the repository only: OUT must be inside it.
case $out in
"$repo"/*) inside=${out#"$repo"/} ;;
*)
	echo "$0: without Go installed, OUT must be inside the repository ($repo)" >&2
	exit 2
	;;
esac
exec docker run --rm -u "$(id -u):$(id -g)" -e HOME=/tmp -e GOFLAGS=-buildvcs=false \
	-v "$repo:/src" -w /src "${GO_IMAGE:-golang:1.26-alpine}" \
	go run ./tools/compose -agencies "$2" -compose "$inside" -agency-config client/config.yaml
