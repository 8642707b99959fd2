"""How cheap `forge plan`'s look at the data is, next to reading every row.

Writes a JSONL of chat rows (default ~100 MB) to a temporary folder, then times
`forge.catalog.sample.sample_data` (first 2,000 rows parsed, the rest only counted) against
the plain way of sizing a dataset: json.loads on every row and a token estimate for each.
Prints both times and the speed-up last. Run by hand: python benchmarks/plan_sampling.py [MB]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from forge.catalog.sample import (
    BYTES_PER_TOKEN,
    TOKENS_PER_MESSAGE,
    _n_messages,
    _strings,
    sample_data,
)


def write_rows(path: Path, megabytes: int) -> int:
    rng = random.Random(0)
    words = [
        "the",
        "model",
        "learns",
        "to",
        "answer",
        "questions",
        "about",
        "data",
        "files",
        "and",
        "training",
        "runs",
    ]
    n, size, limit = 0, 0, megabytes * 1024**2
    with open(path, "w", encoding="utf-8") as f:
        while size < limit:
            msgs = [
                {"role": "user", "content": " ".join(rng.choices(words, k=rng.randint(5, 40)))},
                {
                    "role": "assistant",
                    "content": " ".join(rng.choices(words, k=rng.randint(20, 300))),
                },
            ]
            line = json.dumps({"messages": msgs}) + "\n"
            f.write(line)
            size += len(line)
            n += 1
    return n


def read_everything(path: Path) -> tuple[int, int]:
    rows = tokens = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)  # the same per-row estimate as the sampler, on every row
            text = "\n".join(_strings(rec))
            tokens += max(1, round(len(text.encode()) / BYTES_PER_TOKEN))
            tokens += _n_messages(rec) * TOKENS_PER_MESSAGE
            rows += 1
    return rows, tokens


def main() -> None:
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chats.jsonl"
        n = write_rows(path, mb)
        t0 = time.perf_counter()
        s = sample_data([str(path)])
        t_sample = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows, tokens = read_everything(path)
        t_full = time.perf_counter() - t0
    assert s.rows == rows == n
    print(f"data: {mb} MB, {n:,} rows, ~{tokens:,} tokens (full read)")
    print(f"forge plan sampling: {t_sample:.2f} s, rows {s.rows:,}, ~{s.total_tokens:,} tokens")
    print(f"json.loads on every row: {t_full:.2f} s")
    print(f"sampling error of the token total: {abs(s.total_tokens - tokens) / tokens:.2%}")
    print(f"speed-up: {t_full / t_sample:.1f}x")


if __name__ == "__main__":
    main()
