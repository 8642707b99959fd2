"""read_range reads only the row groups that overlap the range and returns what a filtered
read of the whole file returns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forge.data.globalstep import DUP_SCHEMA, read_range


@pytest.fixture
def decisions(tmp_path):
    ids = np.sort(np.random.default_rng(0).choice(100_000, 5_000, replace=False)).astype(np.int64)
    table = pa.table(
        {"row_id": ids, "dup_of": ids // 2, "kind": ["near" if i % 3 else "exact" for i in ids]},
        schema=DUP_SCHEMA,
    )
    path = tmp_path / "duplicates.parquet"
    pq.write_table(table, path, row_group_size=256)
    return path, ids


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(0, 99_999), (10_000, 19_999), (-5, 3), (50_123, 50_123), (200_000, 300_000), (9, 2)],
)
def test_read_range_matches_a_filtered_read(decisions, lo, hi):
    path, ids = decisions
    got = read_range(path, lo, hi)
    want = pq.read_table(path, filters=[("row_id", ">=", lo), ("row_id", "<=", hi)])
    assert got.schema == want.schema
    assert got.equals(want)
    assert got["row_id"].to_pylist() == [int(i) for i in ids if lo <= i <= hi]


def test_read_range_reads_only_overlapping_row_groups(decisions, monkeypatch):
    path, ids = decisions
    read: list[list[int]] = []
    real = pq.ParquetFile.read_row_groups

    def spy(self, groups, *args, **kwargs):
        read.append(list(groups))
        return real(self, groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    lo, hi = int(ids[1000]), int(ids[1100])
    assert len(read_range(path, lo, hi)) == 101
    assert read == [[3, 4]]  # rows 1000..1100 of groups of 256
    # past the last row id: no row group is read at all
    assert len(read_range(path, 10**9, 10**9 + 5)) == 0
    assert len(read) == 1
