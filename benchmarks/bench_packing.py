"""Packing fill rate on alpaca_5000 at 2048 tokens, with a real tokenizer.

A byte-level BPE (vocab 8000) is trained here on the data itself (no download), the rows are
rendered in the Alpaca prompt layout and tokenized, and forge's best-fit-decreasing packing is
compared with the naive alternative (one row per sequence, padded) and with first-fit in
input order. Goal: >= 98% fill.

Run: PYTHONPATH=src python benchmarks/bench_packing.py [--max-length 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from forge.data.pack import pack_stats, pack_table

ROOT = Path(__file__).resolve().parents[1]


def alpaca() -> list[dict]:
    for cand in (ROOT.parent / "shared" / "data", Path(os.environ.get("FORGE_TEST_DATA", "."))):
        p = cand / "chat" / "alpaca_5000.json"
        if p.is_file():
            return json.loads(p.read_text())
    sys.exit("alpaca_5000.json not found in ../shared/data")


def render(r: dict) -> str:
    inp = f"### Input:\n{r['input']}\n\n" if r["input"] else ""
    return f"### Instruction:\n{r['instruction']}\n\n{inp}### Response:\n{r['output']}"


def first_fit_in_order(lengths: np.ndarray, max_length: int) -> int:
    """Sequences used by the simplest streaming packer: append until the next row overflows."""
    seqs, room = 0, 0
    for n in lengths:
        if n > room:
            seqs, room = seqs + 1, max_length
        room -= n
    return seqs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-length", type=int, default=2048)
    args = ap.parse_args()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    texts = [render(r) for r in alpaca()]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=8000, show_progress=False))
    ids = [e.ids + [0] for e in tok.encode_batch(texts)]  # + an end-of-text token per row
    lengths = np.array([len(x) for x in ids])
    table = pa.table({"input_ids": pa.array(ids, pa.list_(pa.int32()))})

    t0 = time.perf_counter()
    packed = pack_table(table, args.max_length)
    seconds = time.perf_counter() - t0
    stats = pack_stats(packed)
    total = int(lengths.sum())
    ff = first_fit_in_order(lengths, args.max_length)
    print(f"rows {len(ids)}, tokens {total}, p50 {int(np.median(lengths))}, max {lengths.max()}")
    print(
        f"unpacked (one row per sequence, padded to {args.max_length}): "
        f"{len(ids)} sequences, fill {total / (len(ids) * args.max_length):.4f}"
    )
    print(f"first fit in input order: {ff} sequences, fill {total / (ff * args.max_length):.4f}")
    print(
        f"forge best-fit decreasing: {stats['sequences']} sequences, {stats['documents']} "
        f"documents, {stats['tokens']} tokens kept ({total - stats['tokens']} dropped), "
        f"packed in {seconds:.3f}s"
    )
    lower = -(-total // args.max_length)
    print(f"lower bound on sequences: {lower}")
    print(f"fill rate at {args.max_length}: {stats['fill_rate']:.4f} (goal >= 0.98)")


if __name__ == "__main__":
    main()
