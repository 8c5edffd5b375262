#!/usr/bin/env bash
# deps.sh - installs what Chopin needs to build and test, only what is missing.
# Debian packages: liburing-dev (io_uring), zlib1g-dev (compression), libssl-dev and openssl (TLS,
# and the test certificates), gcc's sanitizer runtimes, curl and
# wrk (integration checks and benchmarks), PostgreSQL (the example's /db
# routes are tested against a private server, scripts/pg.sh), nginx (the deployment test
# runs chopin-example behind it, Tests/scripts/nginx_deploy.sh). Swift 6.3 is expected at /opt/swift
# or on PATH; it is not installed from here.
set -eu
want=(liburing-dev zlib1g-dev libssl-dev openssl libasan8 libubsan1 curl wrk postgresql nginx)
missing=()
for p in "${want[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all present (${want[*]})"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
echo "deps: done"
