#!/usr/bin/env bash
# Installs the original's Python stack (bench/proxy/original/requirements.txt: FastAPI,
# uvicorn, gunicorn, boto3, pinned) into .tools/bench-proxy-venv, for `bench/proxy/run.sh
# original` and bench/compare. Idempotent: does nothing when the venv already holds exactly
# these pins (a copy of the requirements file inside the venv records what it holds).
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV=.tools/bench-proxy-venv
REQUIREMENTS=bench/proxy/original/requirements.txt
if [ -x "$VENV/bin/gunicorn" ] && cmp -s "$REQUIREMENTS" "$VENV/requirements.installed"; then
  exit 0
fi
echo "setup: installing the original's Python stack into $VENV" >&2
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
cp "$REQUIREMENTS" "$VENV/requirements.installed"
