#!/bin/sh
# The compose stack's tls-keys service: it runs once before the brokers and
# the programs, and gives each of them its certificate and private key in
# the volume they share, owned by the user its process runs as.
#
# make certs writes the keys on the host readable by their owner only, and a
# bind mount keeps the host's owner and mode, which the broker (the user
# rabbitmq) and the programs (each its own user) are not. This service runs
# as root in the broker's image and copies, for each identity of IDENTITIES
# ("name:owner" pairs, separated by spaces; owner a user name or number):
#
#   /in/NAME.pem      to /tls/NAME/cert.pem  (mode 0444)
#   /in/NAME-key.pem  to /tls/NAME/key.pem   (mode 0400, owned by owner)
#   /in/ca.pem        to /tls/ca.pem         (mode 0444)
#
# Only the files named are mounted into /in: the authority's own key never
# enters a container. Every run replaces what the volume held, so that
# certificates renewed by make certs reach the stack at its next up.
set -eu

: "${IDENTITIES:?IDENTITIES: the identities to install, as name:owner pairs}"

say() { echo "action: tls_keys | result: $1 | $2"; }
fail() {
	say fail "error: $1" >&2
	exit 1
}

[ -r /in/ca.pem ] || fail "no certificate authority at .certs/ca.pem: run make certs, then make docker-compose-up"
staging=/tls/.staging
rm -rf "$staging"
install -d -m 0755 "$staging"
install -m 0444 /in/ca.pem "$staging/ca.pem"
count=0
for pair in $IDENTITIES; do
	name=${pair%%:*} owner=${pair#*:}
	for f in "$name.pem" "$name-key.pem"; do
		[ -r "/in/$f" ] || fail "no .certs/$f: run make certs with this deployment's AGENCIES (and REPLICAS), then make docker-compose-up"
	done
	install -d -m 0755 "$staging/$name"
	install -m 0444 "/in/$name.pem" "$staging/$name/cert.pem"
	install -o "$owner" -m 0400 "/in/$name-key.pem" "$staging/$name/key.pem"
	count=$((count + 1))
done
# What the last run installed goes, then the new set takes its place.
find /tls -mindepth 1 -maxdepth 1 ! -name .staging -exec rm -rf {} +
mv "$staging"/* /tls/
rmdir "$staging"
say success "identidades: $count"
