"""Helpers for the quality tests: key tables written the way pass 1 of `forge prepare` does."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from forge.config.quality import DedupConfig
from forge.data.dedup import key_table, row_id


def write_keys(
    folder: Path,
    texts: list[str],
    cfg: DedupConfig | None = None,
    shards: int = 1,
    ids: list[int] | None = None,
    **cols,
) -> list[Path]:
    """Key tables for `texts` in `shards` files; row ids (0 << 40) | index unless given."""
    cfg = cfg or DedupConfig()
    folder.mkdir(parents=True, exist_ok=True)
    n = len(texts)
    ids = ids if ids is not None else [row_id(0, i) for i in range(n)]
    files = []
    bounds = [n * s // shards for s in range(shards + 1)]
    for s in range(shards):
        lo, hi = bounds[s], bounds[s + 1]
        extra = {k: v[lo:hi] for k, v in cols.items()}
        t = key_table(ids[lo:hi], texts[lo:hi], cfg, **extra)
        path = folder / f"keys-{s:05d}.parquet"
        pq.write_table(t, path)
        files.append(path)
    return files


@pytest.fixture
def keys_writer():
    return write_keys
