"""The global step's memory: the process limit is read and applied to DuckDB, and the result
does not depend on how much memory DuckDB had or how the band queries were grouped."""

from __future__ import annotations

import resource

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forge.config.quality import DedupConfig, SplitConfig
from forge.data import memory
from forge.data.dedup import find_duplicates, key_schema, lsh
from forge.data.dedup.keys import signature_array
from forge.data.split import assign_splits, check_leakage
from forge.errors import ForgeError


def test_parse_size():
    assert memory.parse_size("256MB") == 256_000_000
    assert memory.parse_size("1GB") == 10**9
    assert memory.parse_size("1.5 GiB") == 3 << 29
    assert memory.parse_size("512kb") == 512_000
    with pytest.raises(ForgeError):
        memory.parse_size("lots")


def test_duckdb_limit_is_capped_by_the_process_limit():
    assert memory.duckdb_limit("1GB", limit=0) == 10**9  # 0 / None: nothing limits us
    assert memory.duckdb_limit("1GB", limit=2 << 30) == int((2 << 30) * memory.LIMIT_SHARE)
    assert memory.duckdb_limit("100MB", limit=8 << 30) == 100_000_000
    assert memory.duckdb_limit("1MB", limit=None) >= memory.FLOOR


@pytest.fixture
def data_limit():
    """Put this process under a data-segment rlimit for the test, then lift it again."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = 6 << 30
    if hard != resource.RLIM_INFINITY and hard < limit:
        pytest.skip("the hard data limit is below the test's")
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def test_rlimit_is_read_and_applied_to_duckdb(tmp_path, data_limit):
    seen = memory.process_limit()
    assert seen is not None and seen <= data_limit
    con = lsh.connect(tmp_path / "w", DedupConfig(memory_limit="4GB"))
    try:
        got = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    finally:
        con.close()
    # DuckDB reports its limit rounded, in its own units (e.g. "1.4 GiB")
    want = min(4 * 10**9, int(seen * memory.LIMIT_SHARE))
    assert abs(memory.parse_size(got.replace(" ", "")) - want) < 0.05 * want


def _keys(folder, n: int, shard: int = 5000, seed: int = 0) -> list:
    """Key tables of n rows with random signatures, ~2% near copies of a small pool (so band
    buckets of several sizes) and ~2% exact copies; written as pass 1 writes them."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**32, size=(300, 128), dtype=np.uint32)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for s in range(0, n, shard):
        m = min(shard, n - s)
        sig = rng.integers(0, 2**32, size=(m, 128), dtype=np.uint32)
        eh = rng.integers(0, 2**63, size=m, dtype=np.uint64)
        k = m // 50
        sig[:k] = pool[rng.integers(0, len(pool), size=k)]
        changed = rng.random((k, 128)) < 0.08
        sig[:k][changed] = rng.integers(0, 2**32, size=int(changed.sum()), dtype=np.uint32)
        eh[k : 2 * k] = rng.integers(0, 200, size=k).astype(np.uint64)
        t = pa.table(
            {
                "row_id": np.arange(s, s + m, dtype=np.int64),
                "exact_hash": pa.array(eh, pa.uint64()),
                "minhash": signature_array(sig),
                "n_chars": np.full(m, 100, dtype=np.int64),
                "stratum": pa.nulls(m, pa.string()),
                "timestamp": pa.nulls(m, pa.int64()),
                "group": pa.nulls(m, pa.string()),
            },
            schema=key_schema(128),
        )
        files.append(folder / f"keys-{s // shard:05d}.parquet")
        pq.write_table(t, files[-1])
    return files


def test_global_step_same_result_with_a_tiny_memory_limit(tmp_path, monkeypatch):
    files = _keys(tmp_path / "k", 40_000)
    roomy = DedupConfig(memory_limit="2GB", max_bucket_pairs=8)
    base = find_duplicates(files, roomy, tmp_path / "a")
    assert base.num_rows > 1000  # planted exact and near copies were found
    assert set(base.column("kind").to_pylist()) == {"exact", "near"}
    # the smallest DuckDB accepts from forge (its hash tables spill to the work folder), and
    # the bands queried one at a time instead of all twenty at once
    tiny = DedupConfig(memory_limit="1MB", max_bucket_pairs=8)
    monkeypatch.setattr(lsh, "_QUERY_ROWS", 1)
    bands = lsh.write_bands(files, tiny, tmp_path / "b")
    assert bands is not None and len(lsh._band_groups(bands)) == tiny.bands
    # ... and the candidate pairs made distinct in parts instead of one aggregate
    monkeypatch.setattr(lsh, "_DISTINCT_ROWS", 200)
    con = lsh.connect(tmp_path / "p", tiny)
    lsh.candidate_pairs(con, bands, tiny.max_bucket_pairs)
    parted = con.execute("SELECT a, b FROM pairs ORDER BY a, b").fetchall()
    monkeypatch.setattr(lsh, "_DISTINCT_ROWS", 10**9)
    lsh.candidate_pairs(con, bands, tiny.max_bucket_pairs)
    whole = con.execute("SELECT a, b FROM pairs ORDER BY a, b").fetchall()
    con.close()
    assert len(parted) > 4 * 200 and parted == whole and len(set(whole)) == len(whole)
    monkeypatch.setattr(lsh, "_DISTINCT_ROWS", 200)
    assert find_duplicates(files, tiny, tmp_path / "c").equals(base)

    splits = assign_splits(files, base, SplitConfig(memory_limit="1MB"), 3, tmp_path / "d")
    roomy_splits = assign_splits(files, base, SplitConfig(memory_limit="2GB"), 3, tmp_path / "e")
    assert splits.equals(roomy_splits)
    leak = check_leakage(files, splits, tiny, tmp_path / "f")
    monkeypatch.setattr(lsh, "_QUERY_ROWS", 4_000_000)
    assert leak == check_leakage(files, splits, roomy, tmp_path / "g")
    assert leak["ok"]


def test_arrow_reserves_little_under_an_rlimit(tmp_path):
    """Under a data rlimit, importing pyarrow through forge.data leaves room to work: mimalloc
    would otherwise reserve a 1 GiB arena that the limit counts whole."""
    import subprocess
    import sys

    code = (
        "import re, forge.data, pyarrow.dataset, pyarrow as pa, os\n"
        "s = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmData:\\s+(\\d+)', s).group(1)) >> 10,"
        " os.environ.get('MIMALLOC_ARENA_RESERVE'), pa.default_memory_pool().backend_name)\n"
    )
    if not sys.platform.startswith("linux"):
        pytest.skip("VmData is Linux's")

    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        resource.setrlimit(resource.RLIMIT_DATA, (3 << 30, hard))

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit, check=True
    ).stdout.split()
    data_mb, reserve, backend = int(out[0]), out[1], out[2]
    assert reserve == "64MiB"
    if backend == "mimalloc":
        assert data_mb < 700, data_mb


def test_memory_limits_do_not_change_the_config_hash():
    """DuckDB's memory changes how the global step runs, not what it decides: a rerun with
    another limit is up to date, like one with another worker count."""
    from forge.config.data import DataConfig, PreprocessingConfig
    from forge.config.model import ModelConfig
    from forge.data.manifest import config_hash

    data, model = DataConfig(), ModelConfig()
    base = config_hash(data, PreprocessingConfig(), model)
    roomy = PreprocessingConfig(dedup={"memory_limit": "4GB"}, split={"memory_limit": "2GB"})
    assert config_hash(data, roomy, model) == base
    assert config_hash(data, PreprocessingConfig(dedup={"num_perm": 64, "bands": 8}), model) != base


def test_global_step_retries_with_twice_the_memory(tmp_path, monkeypatch):
    """DuckDB's out-of-memory error (a window over huge buckets cannot always spill) makes
    the global step run again with twice the limit; past the cap it is a ForgeError."""
    import duckdb

    from forge.config.data import PreprocessingConfig
    from forge.data import globalstep

    seen: list[tuple[str, str]] = []

    def run(key_files, pre, work, fail_below=512_000_000):
        seen.append((pre.dedup.memory_limit, pre.split.memory_limit))
        if memory.parse_size(pre.dedup.memory_limit) < fail_below:
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate")
        return "dups", "splits", {}

    monkeypatch.setattr(globalstep, "run_global", run)
    notes: list[str] = []
    pre = PreprocessingConfig()
    assert globalstep.run_global_retrying([], pre, tmp_path / "w", notes.append)[0] == "dups"
    assert [memory.parse_size(a) for a, _ in seen] == [128_000_000, 256_000_000, 512_000_000]
    assert all(a == b for a, b in seen[1:]) and len(notes) == 2
    monkeypatch.setattr(globalstep, "run_global", lambda *a: run(*a, fail_below=10**15))
    with pytest.raises(ForgeError, match="ran out of memory") as e:
        globalstep.run_global_retrying([], pre, tmp_path / "w")
    assert "memory_limit" in e.value.hint
