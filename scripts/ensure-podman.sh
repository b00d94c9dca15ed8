#!/usr/bin/env bash
# A private, rootful Podman service for the Podman tests (and for trying the tool by hand).
#
#   scripts/ensure-podman.sh install      podman installed (apt on Debian as root when missing)
#   scripts/ensure-podman.sh start DIR    install, then `podman system service` on
#                                         unix://DIR/podman.sock; prints "socket PID" and waits
#                                         until it answers /_ping
#   scripts/ensure-podman.sh stop DIR     stop the service started with DIR
#
# Everything Podman needs goes under DIR: containers.conf (in this VM Podman's default
# rlimits are refused and crun refuses hybrid cgroups), the socket, the service's pid and log.
# It never touches the Docker engine or /var/run/docker.sock; the images and containers live
# in Podman's own storage (/var/lib/containers).
set -euo pipefail

TIMEOUT=${HOTFIX_PODMAN_TIMEOUT:-60}

say() { echo "podman: $*" >&2; }

install_podman() {
    # catatonit: the init process of `run --init` (recommended by the package, so not
    # installed with --no-install-recommends).
    if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 &&
        [[ -x /usr/libexec/podman/catatonit ]]; then
        return 0
    fi
    if [[ ! -f /etc/debian_version || "$(id -u)" != 0 ]]; then
        say "podman is missing; install it (Debian/Ubuntu: apt-get install podman runc catatonit)"
        exit 1
    fi
    local t0=$EPOCHREALTIME
    say "installing podman + runc + catatonit with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        podman runc catatonit >/dev/null
    say "installed in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
}

write_conf() {
    local dir=$1
    cat >"$dir/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
EOF
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_service() {
    local dir=$1 sock=$1/podman.sock
    mkdir -p "$dir"
    install_podman
    write_conf "$dir"
    if ! pid_alive "$dir/service.pid"; then
        rm -f "$sock"
        # setsid: its own session, so a test run's Ctrl-C reaches it only through `stop`.
        CONTAINERS_CONF=$dir/containers.conf setsid podman system service --time=0 \
            "unix://$sock" >>"$dir/service.log" 2>&1 </dev/null &
        echo $! >"$dir/service.pid"
    fi
    local deadline=$((${EPOCHREALTIME%[.,]*} + TIMEOUT))
    until curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; do
        if ! pid_alive "$dir/service.pid" || ((${EPOCHREALTIME%[.,]*} >= deadline)); then
            say "the service did not answer on $sock; last lines of $dir/service.log:"
            tail -n 20 "$dir/service.log" >&2 || true
            exit 1
        fi
        sleep 0.1
    done
    echo "$sock $(cat "$dir/service.pid")"
}

stop_service() {
    local dir=$1
    if pid_alive "$dir/service.pid"; then
        local pid
        pid=$(cat "$dir/service.pid")
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/service.pid" "$dir/podman.sock"
}

case "${1:-}" in
install) install_podman ;;
start) start_service "${2:?usage: $0 start DIR}" ;;
stop) stop_service "${2:?usage: $0 stop DIR}" ;;
*)
    echo "usage: $0 install | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
