"""Joining Parquet parts by copying their row groups (forge.data.pqjoin): the joined file
holds the parts' rows in order, every column chunk's bytes sit where its footer says, and
independent readers (pyarrow, DuckDB) read it."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forge.data import pqjoin
from forge.data.pass2 import CHAT_SCHEMA
from forge.data.shardio import OUTPUT_PARQUET
from forge.errors import ForgeError


def _table(rng, n: int, start: int) -> pa.Table:
    lens = rng.integers(0, 40, n)
    ids = [rng.integers(0, 5000, k).tolist() for k in lens]
    labels = [[-100 if j % 3 else t for j, t in enumerate(row)] for row in ids]
    return pa.Table.from_pydict(
        {
            "input_ids": ids,
            "labels": labels,
            "attention_mask": [[1] * k for k in lens],
            "text": ["é" * int(k) + f"row {start + i}" for i, k in enumerate(lens)],
            "messages": [None if i % 7 == 0 else f'[{{"i": {start + i}}}]' for i in range(n)],
            "id": [str(start + i) for i in range(n)],
        },
        schema=CHAT_SCHEMA,
    )


def _parts(tmp_path, sizes, **options):
    rng = np.random.default_rng(0)
    paths, tables, start = [], [], 0
    for k, n in enumerate(sizes):
        t = _table(rng, n, start)
        start += n
        p = tmp_path / f"part-{k}.parquet"
        with pq.ParquetWriter(p, CHAT_SCHEMA, **{**OUTPUT_PARQUET, **options}) as w:
            if n:
                w.write_table(t, row_group_size=300)
        paths.append(p)
        tables.append(t)
    return paths, pa.concat_tables(tables)


def _chunks(path):
    """(row group, column) -> the bytes of the column chunk, found through the footer."""
    md = pq.ParquetFile(path).metadata
    data = path.read_bytes()
    out = {}
    for g in range(md.num_row_groups):
        for c in range(md.num_columns):
            col = md.row_group(g).column(c)
            start = col.dictionary_page_offset or col.data_page_offset
            out[(g, c)] = data[start : start + col.total_compressed_size]
            if col.bloom_filter_offset is not None:
                b = col.bloom_filter_offset
                out[(g, c, "bloom")] = data[b : b + col.bloom_filter_length]
    return out


def test_footers_decode_and_encode_back_byte_for_byte(tmp_path):
    paths, _ = _parts(tmp_path, [1000, 0], write_page_index=True)
    pq.write_table(pa.table({"f": [1.5, None], "b": [True, False]}), tmp_path / "x.parquet")
    for p in [*paths, tmp_path / "x.parquet"]:
        raw, _ = pqjoin._footer(p)
        assert pqjoin.encode(pqjoin.decode(raw)) == raw


@pytest.mark.parametrize(
    "options",
    [{}, {"write_page_index": True}, {"compression": "zstd", "use_dictionary": False}],
    ids=["outputs", "page-index", "zstd"],
)
def test_joined_file_holds_the_parts_in_order(tmp_path, options):
    paths, whole = _parts(tmp_path, [1000, 0, 1, 2500, 299], **options)
    target = tmp_path / "joined.parquet"
    assert pqjoin.join(paths, target) == whole.num_rows
    assert pq.read_table(target).equals(whole)
    md = pq.ParquetFile(target).metadata
    assert md.num_rows == whole.num_rows
    assert md.num_row_groups == sum(pq.ParquetFile(p).metadata.num_row_groups for p in paths)
    # every column chunk (and bloom filter) is the part's, byte for byte, where the footer says
    joined = _chunks(target)
    g = 0
    for p in paths:
        own = _chunks(p)
        n = pq.ParquetFile(p).metadata.num_row_groups
        for (pg, *rest), chunk in own.items():
            assert joined[(g + pg, *rest)] == chunk
        g += n
    ordinals = [f[2] for rg in _row_groups(target) for f in rg if f[0] == 7]
    assert ordinals in ([], list(range(md.num_row_groups)))
    # an independent reader agrees
    con = duckdb.connect()
    got = con.execute(
        f"SELECT count(*), sum(len(input_ids)), sum(len(text)), count(messages), "
        f"min(id::INT), max(id::INT) FROM read_parquet('{target}')"
    ).fetchone()
    texts = whole["text"].to_pylist()
    assert got == (
        whole.num_rows,
        sum(len(r) for r in whole["input_ids"].to_pylist()),
        sum(map(len, texts)),
        whole["messages"].drop_null().__len__(),
        0,
        whole.num_rows - 1,
    )


def _row_groups(path):
    meta = pqjoin.decode(pqjoin._footer(path)[0])
    return next(f for f in meta if f[0] == 4)[2][1]


def test_with_page_indexes_the_index_bytes_move_with_their_chunks(tmp_path):
    paths, _ = _parts(tmp_path, [700, 900], write_page_index=True)
    target = tmp_path / "joined.parquet"
    pqjoin.join(paths, target)

    def indexes(path):
        data = path.read_bytes()
        out = []
        for rg in _row_groups(path):
            for chunk in next(f for f in rg if f[0] == 1)[2][1]:
                f = {fid: v for fid, _, v in chunk}
                assert 4 in f and 6 in f  # the writer wrote both indexes
                out.append((data[f[4] : f[4] + f[5]], data[f[6] : f[6] + f[7]]))
        return out

    assert indexes(target) == indexes(paths[0]) + indexes(paths[1])


def test_parts_of_another_schema_are_refused(tmp_path):
    paths, _ = _parts(tmp_path, [10])
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), other)
    with pytest.raises(ForgeError, match="another schema"):
        pqjoin.join([paths[0], other], tmp_path / "j.parquet")


def test_a_file_that_is_not_parquet_is_refused(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + b"\0" * 40 + b"oops")
    with pytest.raises(ForgeError, match="not a plain Parquet file"):
        pqjoin.join([bad], tmp_path / "j.parquet")
    cut = tmp_path / "cut.parquet"
    paths, _ = _parts(tmp_path, [50])
    data = paths[0].read_bytes()
    cut.write_bytes(data[:4] + data[-8:])  # a footer length longer than the file
    with pytest.raises(ForgeError, match="not a plain Parquet file"):
        pqjoin.join([cut], tmp_path / "j.parquet")


def _with_ordinals(path):
    """Rewrite a pyarrow file's footer with each row group's ordinal (field 7), as other
    writers set it (pyarrow leaves it out)."""
    raw, end = pqjoin._footer(path)
    meta = pqjoin.decode(raw)
    for k, rg in enumerate(next(f for f in meta if f[0] == 4)[2][1]):
        rg.append([7, 4, k])  # i16
    footer = pqjoin.encode(meta)
    data = path.read_bytes()[:end]
    path.write_bytes(data + footer + len(footer).to_bytes(4, "little") + b"PAR1")


def _ordinals(path):
    return [next((f[2] for f in rg if f[0] == 7), None) for rg in _row_groups(path)]


def test_row_group_ordinals_are_numbered_again_and_left_out_past_32767(tmp_path):
    paths = []
    for k, n in enumerate([16_400, 16_400, 5]):
        p = tmp_path / f"tiny-{k}.parquet"
        pq.write_table(pa.table({"x": np.arange(n) + k * 16_400}), p, row_group_size=1)
        _with_ordinals(p)
        assert _ordinals(p) == list(range(n))
        paths.append(p)
    small = tmp_path / "small.parquet"
    pqjoin.join([paths[2], paths[2]], small)
    assert _ordinals(small) == list(range(10))
    target = tmp_path / "joined.parquet"
    assert pqjoin.join(paths[:2], target) == 32_800
    assert pq.read_table(target)["x"].to_pylist() == list(range(32_800))
    # a Thrift i16: the first 32,768 are numbered, the optional field is left out after them
    assert _ordinals(target) == list(range(32_768)) + [None] * 32
