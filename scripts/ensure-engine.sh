#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`.
#
#   scripts/ensure-engine.sh
#
# - Engine already answering: prints one line "engine: ready (VERSION)" and exits 0.
# - Debian + root: installs docker.io (+ iptables) when dockerd is missing, removes a
#   stale pid file, starts dockerd detached (it outlives this script; log in
#   $HOTFIX_DOCKERD_LOG, default /var/log/hotfix-dockerd.log) and waits for it
#   (up to $HOTFIX_ENGINE_TIMEOUT seconds, default 60).
# - Anywhere else: explains how to start an engine and exits 1.
#
# Idempotent: a second run only costs one `docker info`.
set -euo pipefail

LOG=${HOTFIX_DOCKERD_LOG:-/var/log/hotfix-dockerd.log}
TIMEOUT=${HOTFIX_ENGINE_TIMEOUT:-60}
PIDFILE=/var/run/docker.pid

say() { echo "engine: $*"; }

# Prints the server version and succeeds only when the daemon answers.
server_version() {
    command -v docker >/dev/null 2>&1 || return 1
    local v
    v=$(docker info --format '{{.ServerVersion}}' 2>/dev/null) || return 1
    [[ -n "$v" && "$v" != "<no value>" ]] || return 1
    echo "$v"
}

# Succeeds when a process whose command name is exactly "dockerd" exists.
dockerd_running() {
    local comm name
    for comm in /proc/[0-9]*/comm; do
        name=
        read -r name 2>/dev/null <"$comm" || true
        [[ "$name" == dockerd ]] && return 0
    done
    return 1
}

if v=$(server_version); then
    say "ready ($v)"
    exit 0
fi

# A DOCKER_HOST pointing elsewhere is not ours to start.
if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]]; then
    say "DOCKER_HOST=${DOCKER_HOST} does not answer; start that engine, or unset DOCKER_HOST" >&2
    exit 1
fi

if [[ ! -f /etc/debian_version || "$(id -u)" != 0 ]]; then
    cat >&2 <<'EOF'
engine: no Docker engine answers `docker info`, and this script only starts one on
Debian as root. Start an engine yourself, for example:
  - Linux with systemd:   sudo systemctl start docker
  - Debian/Ubuntu as root: sudo scripts/ensure-engine.sh
  - macOS / Windows:      start Docker Desktop
Then check with `docker info`.
EOF
    exit 1
fi

t0=$EPOCHREALTIME

if ! command -v dockerd >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1; then
    say "installing docker.io + iptables with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        docker.io iptables >/dev/null
    say "installed in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
fi

if dockerd_running; then
    say "dockerd is running but does not answer yet; waiting for it"
else
    if [[ -e "$PIDFILE" ]]; then
        say "removing stale $PIDFILE"
        rm -f "$PIDFILE"
    fi
    mkdir -p "$(dirname "$LOG")"
    say "starting dockerd (log: $LOG)"
    # setsid + nohup: own session, no controlling terminal, survives this script.
    setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
    disown || true
fi

t1=$EPOCHREALTIME
deadline=$((${t1%[.,]*} + TIMEOUT))
while :; do
    if v=$(server_version); then
        took=$(awk -v a="$t1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
        say "ready ($v) after ${took} s"
        exit 0
    fi
    if ((${EPOCHREALTIME%[.,]*} >= deadline)); then
        say "dockerd did not answer within ${TIMEOUT} s; last lines of $LOG:" >&2
        tail -n 30 "$LOG" >&2 || true
        exit 1
    fi
    sleep 0.2
done
