#!/usr/bin/env bash
# The seed incident, hotfixed with the product: my_prod_service answers 500 because
# app.py says cause_a_problem = True. Leaves the fixed service running on 127.0.0.1:8001.
set -euo pipefail
cd "$(dirname "$0")/.."
HOTFIX=${HOTFIX:-.venv/bin/hotfix}
PY=${PY:-.venv/bin/python}
NAME=my_prod_service
URL=http://127.0.0.1:8001/
APP=/usr/src/app/app.py

t0=$(date +%s.%N)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; ts=$(date +%s.%N); }
took() { awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN{printf "   (%.2f s)\n", b-a}'; }
answer() { curl -s -o /tmp/hotfix-demo-body -w '%{http_code}' "$URL" || true; printf ' %s\n' "$(cat /tmp/hotfix-demo-body 2>/dev/null)"; }

step "Engine"
bash scripts/ensure-engine.sh; took

step "Image my_prod_service:v1.0.0 (built locally, cached)"
"$PY" -m tests.images.build >/dev/null; took

step "Start the broken service ($NAME, port 8001 on 127.0.0.1)"
docker rm -f "$NAME" >/dev/null 2>&1 || true
docker run -d --name "$NAME" -p 127.0.0.1:8001:8001 my_prod_service:v1.0.0 >/dev/null
for _ in $(seq 1 100); do curl -s -o /dev/null "$URL" && break; sleep 0.1; done
"$HOTFIX" ps --running | sed 's/^/   /'; took

step "The incident: it answers"
printf '   '; answer; took

step "Read the live file: hotfix cat $NAME:$APP"
"$HOTFIX" cat "$NAME:$APP" | sed 's/^/   | /'; took

step "Write the fix (checkpoints the original first): hotfix write $NAME:$APP"
"$HOTFIX" cat "$NAME:$APP" | sed 's/cause_a_problem = True/cause_a_problem = False/' \
  | "$HOTFIX" write "$NAME:$APP" - | sed 's/^/   /'; took

step "Restart and probe until healthy: hotfix restart $NAME"
"$HOTFIX" restart "$NAME" | sed 's/^/   /'; took

step "It answers"
printf '   '; answer; took

step "What changed, against the checkpoint: hotfix diff $NAME"
"$HOTFIX" diff "$NAME" | sed 's/^/   /'; took

awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "\nDone in %.1f s. The fixed service stays up on http://127.0.0.1:8001/ — `hotfix revert %s` brings the original back.\n", b-a, "'"$NAME"'"}'
