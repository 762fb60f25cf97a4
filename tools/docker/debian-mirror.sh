#!/usr/bin/env bash
# Prints the Debian archive this host's apt is configured with (the main
# archive, not the security one), so that scripts fetching another Debian
# release's packages use the host's own mirror and name none themselves.
# Reads /etc/apt/sources.list, its .list parts and its deb822 .sources parts.
set -euo pipefail

{
  # One-line form: deb [options] URI suite components…
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p'
  # deb822 form: URIs: URI…
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -nE 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
} | grep -E '^(https?|file)://.*/debian/?$' | head -n 1 | grep . ||
  { echo "no Debian archive found in this host's apt configuration (/etc/apt/sources.list, /etc/apt/sources.list.d/)" >&2; exit 1; }
