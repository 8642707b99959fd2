"""Balanced sampling: cap or upsample the classes of a split toward a target distribution.

The class of a row is its `stratum` key (the `split.stratify_by` column). The result says how
many times each row is written: 0 (capped away), 1, or more (upsampled). Which rows are kept
or repeated follows a seeded random order inside each class, so it is reproducible.

- cap: the largest total T such that every class can supply its share p_k x T; class k keeps
  floor(p_k x T) rows (uniform target: every class keeps as many rows as the smallest one).
- upsample: the smallest total T such that no class must drop rows; class k is written
  round(p_k x T) times in all (at most max_upsample x its count), rows repeated evenly.
  A class whose target share is 0 is left as it is (upsampling never removes rows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge.config.quality import BalanceConfig
from forge.data.split.assign import seeded_random
from forge.errors import ForgeError

SCHEMA = pa.schema([("row_id", pa.int64()), ("split", pa.string()), ("copies", pa.int32())])


def class_counts_to_targets(
    counts: np.ndarray, shares: np.ndarray, mode: str, max_upsample: float
) -> np.ndarray:
    """Rows to write per class, from class counts and (normalized) target shares."""
    counts = counts.astype(np.int64)
    pos = shares > 0
    if mode == "cap":
        total = np.min(counts[pos] / shares[pos])
        out = np.floor(shares * total + 1e-9).astype(np.int64)
        return np.minimum(out, counts)
    total = np.max(counts[pos] / shares[pos])
    out = np.rint(shares * total).astype(np.int64)
    out = np.minimum(out, np.floor(counts * max_upsample).astype(np.int64))
    return np.where(pos, np.maximum(out, counts), counts)


def _strata(key_files: list[Path], row_ids: np.ndarray) -> np.ndarray:
    """The stratum of each row id (in the order given), read from the key tables."""
    import pyarrow.dataset as ds  # here: it imports pandas, 0.25 s before the first shard

    dataset = ds.dataset([str(f) for f in key_files], format="parquet")
    t = dataset.to_table(columns=["row_id", "stratum"])
    ids = t.column("row_id").to_numpy(zero_copy_only=False)
    order = np.argsort(ids)
    pos = np.searchsorted(ids[order], row_ids)
    strata = np.array(t.column("stratum").to_pylist(), dtype=object)
    return strata[order][pos]


def balance(assigned: pa.Table, key_files: list[Path], cfg: BalanceConfig, seed: int) -> pa.Table:
    """Table(row_id, split, copies) for every row of `assigned` (the assign_splits result)."""
    ids = assigned.column("row_id").to_numpy(zero_copy_only=False).astype(np.int64)
    # split names as small integer codes: a Python string per row would cost ~60 bytes each
    enc = pc.dictionary_encode(assigned.column("split").combine_chunks())
    names = enc.dictionary.to_pylist()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    copies = np.ones(len(ids), dtype=np.int32)
    if cfg.enabled and len(ids):
        strata = _strata([Path(f) for f in key_files], ids)
        for name in cfg.splits:
            if name not in names:
                continue
            sel = np.flatnonzero(codes == names.index(name))
            if len(sel) == 0:
                continue
            labels = np.array(["" if s is None else str(s) for s in strata[sel]], dtype=object)
            classes, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
            if cfg.target:
                shares = np.array([float(cfg.target.get(c, 0.0)) for c in classes])
                if shares.sum() <= 0:
                    raise ForgeError(
                        f"balance.target names none of the classes in {name}: "
                        f"{', '.join(map(str, classes[:10]))}",
                        "set preprocessing.balance.target to shares of those classes",
                    )
            else:
                shares = np.ones(len(classes))
            shares = shares / shares.sum()
            want = class_counts_to_targets(counts, shares, cfg.mode, cfg.max_upsample)
            # Rank of each row inside its class, in seeded random order.
            rnd = seeded_random(ids[sel], seed, salt=7)
            order = np.lexsort((ids[sel], rnd, inv))
            start = np.concatenate(([0], np.cumsum(counts)[:-1]))
            rank = np.empty(len(sel), dtype=np.int64)
            rank[order] = np.arange(len(sel)) - start[inv[order]]
            base, extra = want // counts, want % counts
            copies[sel] = (base[inv] + (rank < extra[inv])).astype(np.int32)
    split = pa.array(names, pa.string()).take(pa.array(codes)) if len(ids) else []
    return pa.table({"row_id": ids, "split": split, "copies": copies}, schema=SCHEMA)
