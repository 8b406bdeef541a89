#!/usr/bin/env bash
# One-time setup of the venv for `bench/proxy/run.sh original` (FastAPI + boto3 + gunicorn).
set -euo pipefail
cd "$(dirname "$0")/../../.."
python3 -m venv .tools/bench-proxy-venv
.tools/bench-proxy-venv/bin/pip install -q fastapi uvicorn gunicorn boto3
