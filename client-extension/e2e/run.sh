#!/usr/bin/env bash
# End-to-end test of the extension in a real VS Code: code-server 4.100.3 in headless
# Chromium driven by playwright-core, the real `hotfix lsp` and a real Docker engine.
#
#   cd client-extension && npm run e2e          # or: bash client-extension/e2e/run.sh
#
# Flow (drive.mjs): Open Container File… → the incident container → /usr/src/app/app.py,
# replace `cause_a_problem = True` by `False`, Ctrl+S (the tab reads "app.py (CONTAINER)");
# Restart and Probe → "healthy … 200"; the Explorer's menu of app.py in the workspace's
# container folder: Copy Container Path, Compare with Checkpoint → a diff editor with both. Then checked from outside: the file's
# content, owner and mode (docker exec), and HTTP 200 from the service (curl).
#
# Environment:
#   HOTFIX_E2E_CACHE      code-server + test tools (default /var/cache/container-hotfix/e2e as
#                         root, else ~/.cache/container-hotfix/e2e); a second run skips the install
#   HOTFIX_E2E_ARTIFACTS  screenshots + logs (default REPO/test-artifacts/e2e, emptied each run)
#   HOTFIX_E2E_KEEP=1     keep the run's temp dir (user data, state dir, logs)
#   HOTFIX_E2E_TIMEOUT    seconds for the whole drive (default 240)
# Works as root on a fresh Debian 12 (apt packages installed when missing), without DISPLAY.
set -euo pipefail

CS_VERSION=4.100.3            # newest code-server that runs on Node 20 (VS Code 1.100.3)
RG_PKG_VERSION=1.15.11        # @vscode/ripgrep pinned by code-server 4.100.3
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
PLAYWRIGHT_VERSION=1.52.0     # playwright-core only: drives the system Chromium, downloads nothing
IMAGE=my_prod_service:v1.0.0
APP_FILE=/usr/src/app/app.py
APT_PACKAGES=(chromium ripgrep libkrb5-dev build-essential python3 python3-venv pkg-config curl)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXT=$(dirname "$HERE")
ROOT=$(cd "$EXT/.." && pwd)
if [[ "$(id -u)" == 0 ]]; then DEFAULT_CACHE=/var/cache/container-hotfix/e2e
else DEFAULT_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/container-hotfix/e2e; fi
CACHE=${HOTFIX_E2E_CACHE:-$DEFAULT_CACHE}
ARTIFACTS=${HOTFIX_E2E_ARTIFACTS:-$ROOT/test-artifacts/e2e}
DRIVE_TIMEOUT=${HOTFIX_E2E_TIMEOUT:-240}

T() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(T)" 'BEGIN{printf "%.1f s", b-a}'; }
say() { echo "== e2e: $*"; }
T_ALL=$(T)

RESULT=FAIL
REASON="aborted before the end"
RUN="" CS_PID="" CONTAINER=""
fail() { REASON="$*"; echo "e2e: ERROR: $*" >&2; exit 1; }

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$CS_PID" ]]; then
        kill -TERM -- "-$CS_PID" 2>/dev/null          # setsid: the whole group (server, extension host, hotfix lsp)
        for _ in $(seq 1 50); do kill -0 -- "-$CS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$CS_PID" 2>/dev/null
    fi
    if [[ -n "$CONTAINER" ]]; then
        docker rm -f "$CONTAINER" >/dev/null 2>&1
    fi
    if [[ -n "$RUN" && -d "$RUN" ]]; then
        mkdir -p "$ARTIFACTS/logs"
        cp "$RUN"/*.log "$ARTIFACTS/logs/" 2>/dev/null
        # The Hotfix output channel (server log) and the extension host log.
        find "$RUN/udata/logs" \( -path '*container-hotfix*' -o -name 'exthost.log' -o -name 'remoteexthost.log' \) \
            -name '*.log' -exec cp {} "$ARTIFACTS/logs/" \; 2>/dev/null
        if [[ "${HOTFIX_E2E_KEEP:-}" == 1 ]]; then echo "e2e: kept $RUN"; else rm -rf "$RUN"; fi
    fi
    [[ $rc -ne 0 || "$RESULT" != PASS ]] && RESULT=FAIL
    echo "e2e: screenshots and logs in $ARTIFACTS"
    if [[ "$RESULT" == PASS ]]; then
        echo "E2E PASS ($(since "$T_ALL") in all)"
        exit 0
    fi
    echo "E2E FAIL: $REASON ($(since "$T_ALL"))"
    exit 1
}
trap cleanup EXIT
trap 'REASON="interrupted"; exit 130' INT TERM

# ---------- 1. machine prerequisites ----------
t=$(T)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null \
        || fail "missing packages ${missing[*]} (install them, or run as root on Debian)"
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (Node 20)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[[ "$NODE_MAJOR" == 20 ]] || echo "e2e: warning: code-server $CS_VERSION wants Node 20, this is $(node --version)" >&2
say "prerequisites: $(since "$t")"

# ---------- 2. code-server + playwright-core into the cache (once) ----------
t=$(T)
mkdir -p "$CACHE"
CS_DIR="$CACHE/code-server-$CS_VERSION"
TOOLS_DIR="$CACHE/tools-playwright-$PLAYWRIGHT_VERSION"
CS="$CS_DIR/node_modules/.bin/code-server"
# Native modules build against the running node's headers (no download): /usr/include/node for Debian/NodeSource.
NODE_PREFIX=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
(
    flock 9                                           # parallel runs share one install
    if [[ ! -f "$CS_DIR/.complete" ]]; then
        say "installing code-server $CS_VERSION into $CS_DIR (1-2 min)"
        [[ -f "$NODE_PREFIX/include/node/node.h" ]] || { echo "no node headers in $NODE_PREFIX/include/node"; exit 1; }
        rm -rf "$CS_DIR" "$CACHE/tmp"
        mkdir -p "$CS_DIR" "$CACHE/tmp/vscode-ripgrep-cache-$RG_PKG_VERSION"
        # @vscode/ripgrep would download rg from GitHub: seed its cache with Debian's rg.
        tar -czf "$CACHE/tmp/vscode-ripgrep-cache-$RG_PKG_VERSION/$RG_ASSET" -C "$(dirname "$(command -v rg)")" rg
        echo '{"name":"hotfix-e2e-code-server","version":"1.0.0","private":true}' >"$CS_DIR/package.json"
        (cd "$CS_DIR" && TMPDIR="$CACHE/tmp" npm_config_unsafe_perm=true npm_config_nodedir="$NODE_PREFIX" npm_config_yes=true \
            npm install --no-audit --no-fund --foreground-scripts "code-server@$CS_VERSION") \
            >"$CACHE/install-code-server.log" 2>&1 \
            || { tail -40 "$CACHE/install-code-server.log"; exit 1; }
        [[ -x "$CS" ]] || { echo "no $CS after the install"; exit 1; }
        touch "$CS_DIR/.complete"
        say "code-server installed: $(since "$t") ($(du -sh "$CS_DIR" | cut -f1))"
    fi
    if [[ ! -f "$TOOLS_DIR/.complete" ]]; then
        t=$(T)
        say "installing playwright-core $PLAYWRIGHT_VERSION into $TOOLS_DIR"
        rm -rf "$TOOLS_DIR"
        mkdir -p "$TOOLS_DIR"
        echo '{"name":"hotfix-e2e-tools","version":"1.0.0","private":true}' >"$TOOLS_DIR/package.json"
        (cd "$TOOLS_DIR" && npm install --no-audit --no-fund --save-exact "playwright-core@$PLAYWRIGHT_VERSION") \
            >"$CACHE/install-tools.log" 2>&1 \
            || { tail -40 "$CACHE/install-tools.log"; exit 1; }
        touch "$TOOLS_DIR/.complete"
        say "playwright-core installed: $(since "$t")"
    fi
) 9>"$CACHE/.install.lock" || fail "installing code-server / playwright-core into $CACHE"
say "code-server + tools: $(since "$t")"

# ---------- 3. hotfix server, engine, image ----------
t=$(T)
HOTFIX="$ROOT/.venv/bin/hotfix"
if [[ ! -x "$HOTFIX" ]]; then
    say "no $HOTFIX: make venv"
    make -C "$ROOT" venv >/dev/null || fail "make venv"
fi
bash "$ROOT/scripts/ensure-engine.sh" || fail "no Docker engine"
(cd "$ROOT" && .venv/bin/python -m tests.images.build >/dev/null) || fail "building the test images"
docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "no image $IMAGE after tests.images.build"
say "server, engine, image: $(since "$t")"

# ---------- 4. the extension ----------
t=$(T)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/hotfix-e2e.XXXXXX")
mkdir -p "$ARTIFACTS"
rm -rf "$ARTIFACTS/logs" && rm -f "$ARTIFACTS"/*.png   # the last run's
(
    # The .vsix carries the server (bundled/libs), as a user gets it: nothing else is installed.
    make -C "$ROOT" bundle
    cd "$EXT"
    [[ -d node_modules ]] || npm ci --no-audit --no-fund
    npm run package
) >"$RUN/package.log" 2>&1 || { tail -30 "$RUN/package.log"; fail "make bundle + npm run package"; }
cp "$EXT/container-hotfix.vsix" "$RUN/container-hotfix.vsix"
export XDG_DATA_HOME="$RUN/xdg-data" XDG_CONFIG_HOME="$RUN/xdg-config" XDG_CACHE_HOME="$RUN/xdg-cache"
CSARGS=(--config "$RUN/code-server.yaml" --extensions-dir "$RUN/extensions" --user-data-dir "$RUN/udata")
printf 'auth: none\ncert: false\n' >"$RUN/code-server.yaml"
"$CS" "${CSARGS[@]}" --install-extension "$RUN/container-hotfix.vsix" --force >"$RUN/install-extension.log" 2>&1 \
    || { cat "$RUN/install-extension.log"; fail "installing the vsix into code-server"; }
grep -q '^container-hotfix.container-hotfix@' <("$CS" "${CSARGS[@]}" --list-extensions --show-versions 2>/dev/null) \
    || fail "the extension is not listed after --install-extension"
mkdir -p "$RUN/udata/User" "$RUN/workspace" "$RUN/state"
echo "Container Hotfix end-to-end test workspace" >"$RUN/workspace/README.txt"
# No hotfix.server.command: the extension finds a Python itself and runs the server it carries.
node -e '
const [file] = process.argv.slice(1);
require("fs").writeFileSync(file, JSON.stringify({
  "files.autoSave": "off",
  "hotfix.pollInterval": 0.5,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
  "git.enabled": false,
  "remote.autoForwardPorts": false,
  "window.restoreWindows": "none",
  "diffEditor.renderSideBySide": true,
}, null, 2));' "$RUN/udata/User/settings.json"
say "vsix built and installed: $(since "$t")"

# ---------- 5. the incident container ----------
t=$(T)
CONTAINER="hotfix-e2e-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"   # lower case: VS Code lower-cases URI authorities
docker run -d --name "$CONTAINER" -p 127.0.0.1::8001 "$IMAGE" >/dev/null || fail "docker run $IMAGE"
host_port() { docker port "$CONTAINER" 8001/tcp | grep -m1 '^127\.0\.0\.1:' | cut -d: -f2; }
# Prints the HTTP status (000: no answer yet) of the service, waiting up to $1 s for an answer.
http_status() {
    local deadline=$(($(date +%s) + $1)) port code
    while :; do
        port=$(host_port 2>/dev/null || true)
        code=000
        [[ -n "$port" ]] && code=$(curl -s -o "$RUN/body.txt" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" || true)
        [[ "$code" != 000 || $(date +%s) -ge $deadline ]] && { echo "$code"; return; }
        sleep 0.1
    done
}
code=$(http_status 30)
[[ "$code" == 500 ]] || fail "the incident service answers $code before the fix, expected 500"
grep -q 'Something is wrong' "$RUN/body.txt" || fail "unexpected body before the fix: $(cat "$RUN/body.txt")"
BEFORE_STAT=$(docker exec "$CONTAINER" stat -c '%u %g %a' "$APP_FILE")
docker exec "$CONTAINER" cat "$APP_FILE" | grep -q 'cause_a_problem = True' || fail "$APP_FILE does not say cause_a_problem = True"
say "container $CONTAINER on 127.0.0.1:$(host_port) answers 500; $APP_FILE owner/mode $BEFORE_STAT: $(since "$t")"

# ---------- 6. code-server ----------
t=$(T)
# A plain PATH (no virtualenv): the server must come from the .vsix alone.
PLAIN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
start_code_server() {
    CS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PATH="$PLAIN_PATH" HOTFIX_STATE_DIR="$RUN/state" setsid "$CS" "${CSARGS[@]}" --auth none --bind-addr "127.0.0.1:$CS_PORT" \
        --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
        "$RUN/workspace" >>"$RUN/code-server.log" 2>&1 </dev/null &
    CS_PID=$!
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$CS_PORT/healthz" 2>/dev/null && break
        kill -0 "$CS_PID" 2>/dev/null || { tail -20 "$RUN/code-server.log"; fail "code-server exited"; }
        sleep 0.1
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$CS_PORT/healthz" || fail "code-server does not answer on 127.0.0.1:$CS_PORT"
}
stop_code_server() {
    kill -TERM -- "-$CS_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 -- "-$CS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CS_PID" 2>/dev/null || true
    CS_PID=""
}
start_code_server
say "code-server (pid group $CS_PID) on 127.0.0.1:$CS_PORT: $(since "$t")"

# ---------- 7. drive the UI ----------
t=$(T)
# A local folder and the container's app folder, as a user's .code-workspace would hold them.
printf '{"folders": [{"path": "%s"}, {"uri": "hotfix://%s%s", "name": "%s: app"}]}\n' \
    "$RUN/workspace" "$CONTAINER" "$(dirname "$APP_FILE")" "$CONTAINER" >"$RUN/e2e.code-workspace"
E2E_URL="http://127.0.0.1:$CS_PORT/?workspace=$RUN/e2e.code-workspace" \
E2E_CONTAINER="$CONTAINER" E2E_FILE="$APP_FILE" E2E_SHOTS="$ARTIFACTS" E2E_TOOLS="$TOOLS_DIR" \
E2E_PROFILE="$RUN/chromium-profile" E2E_TIMEOUT="$DRIVE_TIMEOUT" \
E2E_IMAGE="$IMAGE" \
    node "$HERE/drive.mjs" 2>&1 | tee "$RUN/drive.log" || fail "the UI drive failed (see above and the screenshots)"
say "drive: $(since "$t")"

# ---------- 7b. a server that cannot start: one notification ----------
# Settings are read at start (code-server's watch of the user settings file is not prompt).
t=$(T)
stop_code_server
node -e '
const fs = require("fs"), file = process.argv[1];
fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), "hotfix.server.command": ["/bin/false"] }, null, 2));
' "$RUN/udata/User/settings.json"
start_code_server
E2E_URL="http://127.0.0.1:$CS_PORT/?folder=$RUN/workspace" E2E_PHASE=cannot-start \
E2E_CONTAINER="$CONTAINER" E2E_FILE="$APP_FILE" E2E_SHOTS="$ARTIFACTS" E2E_TOOLS="$TOOLS_DIR" \
E2E_PROFILE="$RUN/chromium-profile-2" E2E_TIMEOUT=90 E2E_IMAGE="$IMAGE" \
    node "$HERE/drive.mjs" 2>&1 | tee -a "$RUN/drive.log" || fail "a server that cannot start (see above and the screenshots)"
say "server that cannot start: $(since "$t")"

# ---------- 8. check from outside ----------
t=$(T)
AFTER=$(docker exec "$CONTAINER" cat "$APP_FILE")
grep -q 'cause_a_problem = False' <<<"$AFTER" || fail "$APP_FILE in the container does not say cause_a_problem = False"
! grep -q 'cause_a_problem = True' <<<"$AFTER" || fail "$APP_FILE in the container still says cause_a_problem = True"
AFTER_STAT=$(docker exec "$CONTAINER" stat -c '%u %g %a' "$APP_FILE")
[[ "$AFTER_STAT" == "$BEFORE_STAT" ]] || fail "owner/mode of $APP_FILE changed: $BEFORE_STAT -> $AFTER_STAT"
code=$(http_status 30)
[[ "$code" == 200 ]] || fail "the service answers $code after the fix, expected 200"
grep -q 'Hello World' "$RUN/body.txt" || fail "unexpected body after the fix: $(cat "$RUN/body.txt")"
say "from outside: $APP_FILE says False, owner/mode still $AFTER_STAT, 127.0.0.1:$(host_port) answers 200 Hello World: $(since "$t")"

RESULT=PASS
