#!/usr/bin/env bash
# The main job end to end on data found on this machine: Python's own documentation and
# standard library sources. Run through `make demo` (which puts .venv/bin on PATH).
set -euo pipefail
DEMO=${DEMO_DIR:-demo}
mkdir -p "$DEMO"
cd "$DEMO"
forge doctor || true
