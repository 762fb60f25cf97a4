#!/bin/sh
# The course's entry point: ./generar-compose.sh OUT N writes the compose
# file OUT for N agencies and, beside it, the broker definitions it loads
# (OUT's name with .definitions.json). It never writes a committed file
# (make compose writes docker-compose.yaml and definitions.json): any path
# that is one, or leads to one through links, is refused. Its agencies
# read the course's client/config.yaml (batch.maxAmount and log.level), which
# must exist when the stack starts. Unlike the other deployments it speaks
# plain AMQP, inside a compose network of its own that no host port reaches. See
# docs/course.md.
set -eu

usage() {
	echo "usage: $0 OUT N: write the compose file OUT for N agencies" >&2
	exit 2
}
[ $# -eq 2 ] || usage
case $2 in '' | *[!0-9]*) usage ;; esac

repo=$(cd "$(dirname "$0")" && pwd -P)
# The paths written, resolved through every symbolic link, so that no
# spelling of a committed file's path (./x, a/../x, a link to it) gets
# past the check below.
out=$(realpath -m -- "$1")
defs=${out%.yml}
defs=${defs%.yaml}.definitions.json
defs=$(realpath -m -- "$defs")
# committed PATH: whether PATH is a file of the repository that git tracks
# (without git: one of the files make compose writes).
committed() {
	case $1 in "$repo"/*) ;; *) return 1 ;; esac
	rel=${1#"$repo"/}
	if command -v git >/dev/null 2>&1 && git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$repo" ls-files --error-unmatch -- "$rel" >/dev/null 2>&1
		return
	fi
	case $rel in docker-compose.yaml | docker-compose.cluster.yaml | docker-compose.replicas.yaml | definitions.json | definitions.replicas.json) return 0 ;; esac
	return 1
}
for f in "$out" "$defs"; do
	if committed "$f"; then
		echo "$0: refusing to write $f, a committed file (make compose AGENCIES=$2 writes the committed deployment); nothing was changed" >&2
		exit 2
	fi
done
cd "$repo"

if command -v go >/dev/null 2>&1; then
	exec go run ./tools/compose -agencies "$2" -compose "$out" -definitions "$defs" -agency-config client/config.yaml -course
fi

# Without Go, the generator runs in the image the Dockerfiles build with,
# which sees the repository only: OUT must be inside it.
case $out in
"$repo"/*) inside=${out#"$repo"/} defs_inside=${defs#"$repo"/} ;;
*)
	echo "$0: without Go installed, OUT must be inside the repository ($repo)" >&2
	exit 2
	;;
esac
exec docker run --rm -u "$(id -u):$(id -g)" -e HOME=/tmp -e GOFLAGS=-buildvcs=false \
	-v "$repo:/src" -w /src "${GO_IMAGE:-golang:1.26-alpine}" \
	go run ./tools/compose -agencies "$2" -compose "$inside" -definitions "$defs_inside" -agency-config client/config.yaml -course
