#!/usr/bin/env bash
# Start or stop a user-namespaced Docker engine (dockerd --userns-remap=default) on this
# machine, for tests/reliability/test_userns.py or by hand. Root + Debian; the main engine
# must be installed (scripts/ensure-engine.sh).
#
#   scripts/userns-engine.sh start DIR   # creates the dockremap user, group and their
#                                        # /etc/subuid + /etc/subgid ranges when missing;
#                                        # dockerd with its own data/exec root in DIR, bridge
#                                        # hfx2-XXXXXXXX (a free 172.31.X.0/24), unix socket
#                                        # DIR/docker.sock. Prints an `export DOCKER_HOST=` line.
#   scripts/userns-engine.sh stop DIR    # remove its containers, stop it, delete the bridge
#                                        # and what start created in DIR
#
# e.g.  eval "$(scripts/userns-engine.sh start /tmp/eu)" && docker info
#
# The logic is in tests/reliability/userns.py (the pytest fixture `userns_engine` uses it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=python3
[[ -x "$ROOT/.venv/bin/python" ]] && PYTHON="$ROOT/.venv/bin/python"

if [[ $# -ne 2 ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi
command=$1
dir=$(realpath -m -- "$2")
cd "$ROOT"
exec "$PYTHON" -m tests.reliability.userns "$command" "$dir"
