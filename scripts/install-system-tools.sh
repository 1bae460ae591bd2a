#!/usr/bin/env bash
# Run by scripts/test: install what the generated-project checks need and PyPI does not carry,
# each only when missing: promtool, amtool and wrk from Debian, the dashboard type-checker
# and the SARIF schema from npm (exact versions in tests/grafana/ and tests/sarif/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing ${missing[*]}: run as root, or apt-get install ${missing[*]}" >&2
        exit 2
    fi
    # The prometheus packages start their daemons on install; a container has no init to run
    # them, so services may not start during this install unless a policy already decides.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    install_missing=(apt-get install --yes --quiet --no-install-recommends "${missing[@]}")
    # A fresh machine may have no package lists yet: refresh them only when the install needs it.
    if ! "${install_missing[@]}" >/dev/null 2>&1; then
        apt-get update --quiet >/dev/null
        if ! "${install_missing[@]}" >/dev/null; then
            echo "could not install ${missing[*]} with apt-get: see its errors above" >&2
            exit 2
        fi
    fi
fi

# `npm ci` again whenever a lock changed since the last install.
for npm_folder in tests/grafana tests/sarif; do
    stamp="$npm_folder/node_modules/.installed-from-package-lock.json"
    if ! cmp -s "$npm_folder/package-lock.json" "$stamp"; then
        # --ignore-scripts: only files are needed (the dashboard's types, SARIF's schema).
        npm ci --prefix "$npm_folder" --no-audit --no-fund --loglevel=error --ignore-scripts
        cp "$npm_folder/package-lock.json" "$stamp"
    fi
done
