#!/usr/bin/env bash
# The main job end to end on data found on every machine with Python: the standard library's
# own sources. plan -> prepare -> train -> generate, a few minutes on a 2-core CPU.
# Run through `make demo` (which puts .venv/bin on PATH). DEMO_STEPS sets the training length.
set -euo pipefail
DEMO=${DEMO_DIR:-demo}
STEPS=${DEMO_STEPS:-600}
mkdir -p "$DEMO"
cd "$DEMO"

# 1. What this machine can do.
forge doctor

# 2. Data found here: Python's standard library modules, copied as they are (about 2 MB, so
#    training stays near a minute on a small CPU). forge reads source files as documents.
python - <<'PY'
import pathlib, shutil, sysconfig

stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
out = pathlib.Path("stdlib")
shutil.rmtree(out, ignore_errors=True)
out.mkdir()
n, size = 0, 0
for path in sorted(stdlib.glob("*.py")):
    shutil.copy(path, out / path.name)
    n, size = n + 1, size + path.stat().st_size
    if size > 2_000_000:
        break
print(f"copied {n} modules ({size:,} bytes) from {stdlib} to stdlib/")
PY

# 3. The plan: a character-level GPT trained from scratch. Named explicitly, so that a machine
#    with a GPU (where the plan would pick a larger preset) runs the same demo.
forge plan --data "stdlib/*.py" --method scratch --model char-tiny \
    --goal "write Python in the style of its standard library" --force
forge config validate

# 4. Prepare: trains the character tokenizer on the data, cleans, deduplicates, splits and
#    writes token shards, a manifest and a quality report to data/stdlib/.
forge prepare
echo "quality report: $DEMO/data/stdlib/report.html"

# 5. Train on the prepared data (capped at $STEPS steps, about a minute on 2 cores).
rm -rf runs/demo-char-tiny
forge train --data data/stdlib --max-steps "$STEPS" --run-name demo-char-tiny
forge runs

# 6. A sample from the trained model.
forge generate demo-char-tiny --prompt "def " --max-new-tokens 300 --seed 0 --top-k 20
echo
echo "demo done: forge.yaml, data/stdlib/ and runs/demo-char-tiny/ are in $DEMO/"

