#!/usr/bin/env bash
# The main job end to end on data found on this machine: Python's own documentation and
# standard library sources. Run through `make demo` (which puts .venv/bin on PATH).
set -euo pipefail
DEMO=${DEMO_DIR:-demo}
mkdir -p "$DEMO"
cd "$DEMO"
forge doctor || true

# --- train: a character-level GPT on Python's own standard library sources --------------------
# (present wherever Python is). About a minute of CPU; then a streamed sample.
python - <<'PY'
import sysconfig
from pathlib import Path

src = Path(sysconfig.get_paths()["stdlib"])
parts, size = [], 0
for p in sorted(src.glob("*.py")):
    text = p.read_text(encoding="utf-8", errors="replace")
    parts.append(text)
    size += len(text)
    if size > 2_000_000:
        break
Path("stdlib.txt").write_text("\n".join(parts), encoding="utf-8")
print(f"corpus: stdlib.txt, {size:,} characters from {len(parts)} modules")
PY
rm -rf runs/demo-char-tiny
forge train --preset char-tiny --data stdlib.txt --run-name demo-char-tiny
forge runs
forge generate demo-char-tiny --prompt "def " --max-new-tokens 300 --seed 0 --top-k 20
# --- end train -------------------------------------------------------------------------------
