#!/usr/bin/env bash
# Make sure a Docker engine answers: install docker.io when missing, start dockerd in the
# background when `docker info` fails (removing a stale pid file left by a killed daemon),
# and wait until it is ready.
set -euo pipefail

log="${DOCKERD_LOG:-/var/log/dockerd.log}"
wait_s="${DOCKERD_WAIT_S:-60}"

if ! command -v dockerd >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io
fi
if docker info >/dev/null 2>&1; then
    echo "docker engine already running"
    exit 0
fi

pidfile=/var/run/docker.pid
if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    # A killed daemon's pid may since belong to another process: check its name too.
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ]; then
        echo "dockerd (pid $pid) is running but not answering yet; waiting"
    else
        echo "removing stale $pidfile"
        rm -f "$pidfile"
    fi
fi
if [ ! -f "$pidfile" ]; then
    # A socket left by a killed daemon would confuse clients until dockerd replaces it.
    rm -f /var/run/docker.sock 2>/dev/null || true
    nohup dockerd >"$log" 2>&1 &
    echo "started dockerd (pid $!), log in $log"
fi

for _ in $(seq "$wait_s"); do
    if docker info >/dev/null 2>&1; then
        echo "docker engine ready"
        exit 0
    fi
    sleep 1
done
echo "dockerd did not become ready within ${wait_s}s; last log lines:" >&2
tail -n 30 "$log" >&2 || true
exit 1
