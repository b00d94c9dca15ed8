#!/usr/bin/env bash
# Start or stop a second Docker engine (a second "host") on this machine, for the fleet tests
# or by hand. Root + Debian; the main engine must be installed (scripts/ensure-engine.sh).
#
#   scripts/second-engine.sh start DIR   # dockerd with its own data/exec root in DIR, bridge
#                                        # hfx2-XXXXXXXX (a free 172.31.X.0/24), unix socket
#                                        # DIR/docker.sock + tcp://127.0.0.1:PORT (mutual TLS,
#                                        # client certs in DIR/certs), contexts hotfix-engine2
#                                        # and hotfix-engine2-tls in DIR/docker-config.
#                                        # Prints `export ...` lines for the TLS endpoint.
#   scripts/second-engine.sh env DIR     # print those lines again
#   scripts/second-engine.sh stop DIR    # remove its containers, stop it, delete the bridge
#                                        # and what start created in DIR
#
# e.g.  eval "$(scripts/second-engine.sh start /tmp/e2)" && docker info
#
# The logic is in tests/fleet/engines.py (the pytest fixture `second_engine` uses it too).
# Never start a second dockerd with --bridge=none: it deletes the main engine's docker0.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=python3
[[ -x "$ROOT/.venv/bin/python" ]] && PYTHON="$ROOT/.venv/bin/python"

if [[ $# -ne 2 ]]; then
    echo "usage: $0 start|stop|env DIR" >&2
    exit 2
fi
command=$1
dir=$(realpath -m -- "$2")
cd "$ROOT"
exec "$PYTHON" -m tests.fleet.engines "$command" "$dir"
