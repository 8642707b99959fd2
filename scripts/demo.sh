#!/usr/bin/env bash
# The main job end to end on data found on this machine: Python's own documentation and
# standard library sources. Run through `make demo` (which puts .venv/bin on PATH).
set -euo pipefail
DEMO=${DEMO_DIR:-demo}
mkdir -p "$DEMO"
cd "$DEMO"

# 1. What this machine can do.
forge doctor

# 2. Data found here: the docstrings of the standard library's modules and of their public
#    functions and classes become conversations ("What does X do?" -> its documentation).
python - <<'PY'
import ast, json, pathlib, sysconfig

stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
rows = []

def add(question, doc):
    if doc and len(doc) >= 80:
        rows.append({"messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": doc.strip()},
        ]})

for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/__init__.py")):
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        continue
    mod = path.parent.name if path.name == "__init__.py" else path.stem
    if mod.startswith("_"):
        continue
    add(f"What is the Python standard library module `{mod}` for?", ast.get_docstring(tree))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            add(f"What does the {kind} `{mod}.{node.name}` do?", ast.get_docstring(node))
with open("stdlib_docs.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"wrote stdlib_docs.jsonl: {len(rows)} conversations from {stdlib}")
PY

# 3. The plan for this machine and data: writes forge.yaml (replacing the last demo's).
forge plan --data stdlib_docs.jsonl --goal "answer questions about the Python standard library" --force
forge config validate


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
