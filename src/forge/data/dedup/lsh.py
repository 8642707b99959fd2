"""Out-of-core LSH over key tables: band buckets on disk, candidate pairs, verification.

Band buckets are written as Parquet under the work folder, one file per band, and grouped
by DuckDB a few bands per query, spilling to disk past its memory limit. The candidate pairs
stay in DuckDB; verification streams them out in batches and reads the rows' signatures
from a block store (sigstore), and only verified pairs come back, a batch at a time.
A bucket of k rows yields all k(k-1)/2 pairs when
k <= max_bucket_pairs, and otherwise only 2(k-1) pairs (each row against the lowest row of the
bucket and against its predecessor by id), so a huge bucket of boilerplate rows never
materializes k^2 pairs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from forge.config.quality import DedupConfig
from forge.data.dedup.hashing import mix64
from forge.data.dedup.keys import signatures
from forge.data.dedup.sigstore import SignatureStore, SignatureWriter
from forge.data.memory import duckdb_limit, threads_for
from forge.data.shardio import SCRATCH_PARQUET

_READ_BATCH = 32_768
# Band rows grouped by one candidate query: the bands are split into groups of about this
# many rows, so a query's hash tables do not grow with bands x rows (one band per query
# past 1M rows). At 4M, 200k rows x 20 bands went to one query whose window did not fit in
# the default 128MB and ran again with twice the memory (15 CPU-s; 5.6 in groups of 1M).
_QUERY_ROWS = 1_000_000
# Candidate pairs verified at a time (their signatures come from at most two blocks): each
# side's signatures are a (batch, num_perm) copy, 4 MiB at 8k pairs and 128 values.
_VERIFY_BATCH = 8_192
# Candidate pairs made distinct by one DuckDB aggregate.
_DISTINCT_ROWS = 4_000_000


def connect(workdir: Path, cfg: DedupConfig, name: str = "dedup") -> duckdb.DuckDBPyConnection:
    """A DuckDB database file in the work folder: tables live on disk, sorts and joins spill."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"{name}.duckdb"
    for p in (db, workdir / f"{name}.duckdb.wal"):
        p.unlink(missing_ok=True)
    tmp = workdir / f"{name}.tmp"
    con = duckdb.connect(str(db))
    con.execute(f"SET temp_directory = {sql_str(tmp)}")
    # the configured limit, or less when the process itself runs under a memory limit
    limit = duckdb_limit(cfg.memory_limit)
    con.execute(f"SET memory_limit = '{limit >> 20}MiB'")
    # every thread keeps hash tables and sort runs of its own: at 128MB, two threads ran out
    # of memory in the candidate query where one spilled and finished
    con.execute(f"SET threads = {threads_for(limit)}")
    con.execute("SET preserve_insertion_order = false")
    return con


def sql_str(path: Path | str) -> str:
    """A path as a SQL string literal (quotes doubled: a folder may be called "John's")."""
    return "'" + Path(path).as_posix().replace("'", "''") + "'"


def parquet_list(files: list[Path]) -> str:
    """A DuckDB list literal of file paths for read_parquet([...])."""
    return "[" + ", ".join(sql_str(f) for f in files) + "]"


def iter_batches(files: list[Path], columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Record batches of the files, one file and one batch at a time: no read-ahead, so
    memory is about one row group (a dataset scanner buffers dozens of batches)."""
    for f in files:
        pf = pq.ParquetFile(f, pre_buffer=False, buffer_size=1 << 20)
        cols = [c for c in columns if c in pf.schema_arrow.names]
        yield from pf.iter_batches(batch_size=_READ_BATCH, columns=cols)
        # Decoding a row group leaves freed pages in Arrow's allocator; hand them back, or
        # the process keeps the high-water mark of every file it read.
        pa.default_memory_pool().release_unused()


def iter_signatures(
    key_files: list[Path], num_perm: int, columns: tuple[str, ...] = ()
) -> Iterator[tuple[np.ndarray, np.ndarray, pa.RecordBatch]]:
    """(row_id, signatures (n, num_perm) uint32, batch) for rows with a MinHash signature."""
    for batch in iter_batches(key_files, ["row_id", "minhash", *columns]):
        mh = batch.column("minhash")
        if mh.null_count:
            keep = mh.is_valid()
            batch = batch.filter(keep)
            mh = batch.column("minhash")
        if len(batch) == 0:
            continue
        if getattr(mh.type, "byte_width", None) != 4 * num_perm:
            from forge.errors import ForgeError

            raise ForgeError(
                f"key table minhash is {mh.type}, the config says num_perm={num_perm} "
                f"(fixed_size_binary[{4 * num_perm}])",
                "prepare again: the key tables were written with another dedup config",
            )
        ids = batch.column("row_id").to_numpy(zero_copy_only=False).astype(np.int64)
        yield ids, signatures(mh), batch


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: one hash per band of `rows` signature values (64-bit, collisions
    negligible, and every candidate is verified anyway)."""
    mult = mix64(np.arange(1, rows + 1, dtype=np.uint64)) | np.uint64(1)
    # Band b holds signature columns b*rows .. b*rows+rows-1: take the j-th of every band at
    # once (a strided view), so the temporaries are (n, bands), not (n, bands, rows).
    h = np.zeros((sig.shape[0], bands), dtype=np.uint64)
    for j in range(rows):
        h += sig[:, j : bands * rows : rows].astype(np.uint64) * mult[j]
    return mix64(h ^ mix64(np.arange(bands, dtype=np.uint64)))


def write_bands(
    key_files: list[Path],
    cfg: DedupConfig,
    out: Path,
    skip: np.ndarray | None = None,
    only: np.ndarray | None = None,
) -> Path | None:
    """Band buckets of every row with a signature (minus the sorted `skip` ids; only the
    sorted `only` ids when given), one Parquet file per band under `out` (band-NNN.parquet,
    bucket and row_id), and those rows' signatures for `verified_pairs` (sigstore); None
    when no row has one."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    writers: list[pq.ParquetWriter] = []
    store = SignatureWriter(out, cfg.num_perm)
    schema = pa.schema([("bucket", pa.int64()), ("row_id", pa.int64())])
    try:
        for ids, sig, _ in iter_signatures(key_files, cfg.num_perm):
            if skip is not None and len(skip):
                pos = np.searchsorted(skip, ids).clip(max=len(skip) - 1)
                keep = skip[pos] != ids
                ids, sig = ids[keep], sig[keep]
            if only is not None:
                if len(only) == 0:
                    break
                pos = np.searchsorted(only, ids).clip(max=len(only) - 1)
                keep = only[pos] == ids
                ids, sig = ids[keep], sig[keep]
            if len(ids) == 0:
                continue
            if not writers:
                writers = [
                    pq.ParquetWriter(out / f"band-{b:03d}.parquet", schema, **SCRATCH_PARQUET)
                    for b in range(cfg.bands)
                ]
            # (bands, n): each band's buckets contiguous
            h = np.ascontiguousarray(band_hashes(sig, cfg.bands, cfg.rows).T).view(np.int64)
            for b, w in enumerate(writers):
                w.write_table(pa.table({"bucket": h[b], "row_id": ids}, schema=schema))
            store.add(ids, sig)
    finally:
        store.close()
        for w in writers:
            w.close()
    return out if writers else None


def _band_groups(bands_dir: Path) -> list[list[tuple[int, Path]]]:
    """The band files in groups of about _QUERY_ROWS rows (at least one band per group)."""
    files = sorted(bands_dir.glob("band-*.parquet"))
    rows = pq.ParquetFile(files[0]).metadata.num_rows if files else 0
    per = max(1, _QUERY_ROWS // max(rows, 1))
    numbered = [(int(f.stem.split("-")[1]), f) for f in files]
    return [numbered[i : i + per] for i in range(0, len(numbered), per)]


LARGE = "large-buckets.parquet"
"""(band, bucket) of the buckets a candidate search compared star-wise (more rows than the
cap), kept next to the band files when asked (`record_large`)."""


def candidate_pairs(
    con: duckdb.DuckDBPyConnection,
    bands_dir: Path,
    cap: int,
    only: str | None = None,
    record_large: bool = False,
    only_large: bool = False,
) -> None:
    """Create table `pairs(a, b)` (a < b, distinct) from rows sharing a band bucket; with
    `only` (a table of the connection with a `row_id` column), among those rows alone, as if
    the band files held no other. `record_large` writes the buckets compared star-wise to
    LARGE in `bands_dir`; `only_large` searches only the buckets an earlier search recorded
    there (see forge.data.split.check_leakage for when that is the same answer).

    The bands are queried a group at a time (see _band_groups): a bucket never spans two
    bands, so each group's pairs are complete on their own, and only the union of all groups
    is made distinct at the end. Memory stays that of one group whatever the input size.
    """
    con.execute("CREATE OR REPLACE TABLE cand (a BIGINT, b BIGINT)")
    if record_large:
        con.execute("CREATE OR REPLACE TABLE star_buckets (band SMALLINT, bucket BIGINT)")
    if only_large:
        con.execute(
            "CREATE OR REPLACE TABLE star_buckets AS SELECT band, bucket FROM "
            f"read_parquet({sql_str(bands_dir / LARGE)})"
        )

    def where(band: int) -> str:
        found = [f"row_id IN (SELECT row_id FROM {only})"] if only else []
        if only_large:
            found.append(f"bucket IN (SELECT bucket FROM star_buckets WHERE band = {band})")
        return " WHERE " + " AND ".join(found) if found else ""

    for group in _band_groups(bands_dir):
        parts = " UNION ALL ".join(
            f"SELECT {band}::SMALLINT AS band, bucket, row_id FROM read_parquet({sql_str(f)})"
            + where(band)
            for band, f in group
        )
        con.execute(
            f"""
            CREATE OR REPLACE TABLE members AS
            WITH b AS ({parts}),
            multi AS (SELECT band, bucket, count(*) AS n FROM b GROUP BY band, bucket
                      HAVING n > 1)
            SELECT b.band, b.bucket, b.row_id, multi.n,
                   row_number() OVER (PARTITION BY b.band, b.bucket ORDER BY b.row_id) AS pos
            FROM b JOIN multi USING (band, bucket)
            """
        )
        con.execute(
            f"""
            INSERT INTO cand
            WITH small AS (SELECT band, bucket, row_id, pos FROM members WHERE n <= {cap}),
            large AS (SELECT band, bucket, row_id, pos FROM members WHERE n > {cap}),
            heads AS (SELECT band, bucket, row_id FROM large WHERE pos = 1)
            SELECT a, b FROM (  -- made distinct once, below, not per group
              SELECT x.row_id AS a, y.row_id AS b
              FROM small x JOIN small y
                ON x.band = y.band AND x.bucket = y.bucket AND x.pos < y.pos
              UNION ALL  -- large buckets: every row against the lowest row (equi-joins only)
              SELECT h.row_id, m.row_id
              FROM large m JOIN heads h ON h.band = m.band AND h.bucket = m.bucket
              WHERE m.pos > 1
              UNION ALL  -- ... and against its predecessor by id
              SELECT x.row_id, y.row_id
              FROM large x JOIN large y
                ON x.band = y.band AND x.bucket = y.bucket AND y.pos = x.pos + 1
            )
            """
        )
        if record_large:
            con.execute(
                f"INSERT INTO star_buckets SELECT DISTINCT band, bucket FROM members WHERE n > {cap}"
            )
    con.execute("DROP TABLE IF EXISTS members")
    if record_large:
        con.execute(f"COPY star_buckets TO {sql_str(bands_dir / LARGE)} (FORMAT PARQUET)")
    if record_large or only_large:
        con.execute("DROP TABLE star_buckets")
    # made distinct in parts of about _DISTINCT_ROWS candidates (by a's residue, so a pair's
    # copies meet in one part): one DISTINCT over the 30M candidates of 2M rows ran out of
    # the default 128MB instead of spilling, and the global step ran again with more memory
    total = con.execute("SELECT count(*) FROM cand").fetchone()[0]
    parts = max(1, -(-total // _DISTINCT_ROWS))
    con.execute("CREATE OR REPLACE TABLE pairs (a BIGINT, b BIGINT)")
    for k in range(parts):
        where = f"WHERE a % {parts} = {k}" if parts > 1 else ""
        con.execute(f"INSERT INTO pairs SELECT DISTINCT a, b FROM cand {where}")
    con.execute("DROP TABLE cand")


def iter_verified(
    con: duckdb.DuckDBPyConnection, bands_dir: Path, cfg: DedupConfig
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of (a, b, estimated Jaccard) of the candidate pairs that pass
    `cfg.verify_threshold` (row ids; a batch may be empty).

    The pairs come out of DuckDB as signature-store positions sorted by (block of a, block
    of b), so the signatures are read two blocks at a time (see sigstore): memory is two
    blocks and one batch of pairs, whatever the number of rows or pairs.
    """
    store = SignatureStore(bands_dir, cfg.num_perm)
    positions = pa.table({"row_id": store.ids, "p": np.arange(len(store.ids), dtype=np.int64)})
    con.register("sig_ids", positions)
    con.execute("CREATE OR REPLACE TABLE sig_pos AS SELECT * FROM sig_ids")
    con.unregister("sig_ids")
    del positions  # DuckDB has its copy (on disk past its limit); 16 bytes a row less here
    # one join per statement: both hash tables at once did not fit in 128 MB at 2M rows
    con.execute(
        "CREATE OR REPLACE TABLE pos_a AS SELECT x.p AS pa, pairs.b "
        "FROM pairs JOIN sig_pos x ON x.row_id = pairs.a"
    )
    con.execute(
        "CREATE OR REPLACE TABLE pos_ab AS SELECT pa, y.p AS pb "
        "FROM pos_a JOIN sig_pos y ON y.row_id = pos_a.b"
    )
    con.execute("DROP TABLE pos_a")
    blk = store.block_rows
    reader = con.sql(
        f"SELECT pa, pb FROM pos_ab ORDER BY pa // {blk}, pb // {blk}"
    ).to_arrow_reader(_VERIFY_BATCH)
    for batch in reader:
        n = len(batch)
        if n == 0:
            continue
        pa_ = batch.column("pa").to_numpy(zero_copy_only=False).astype(np.int64)
        pb_ = batch.column("pb").to_numpy(zero_copy_only=False).astype(np.int64)
        ia, ib = pa_ // blk, pb_ // blk
        cuts = np.flatnonzero((ia[1:] != ia[:-1]) | (ib[1:] != ib[:-1])) + 1
        est = np.empty(n)
        for s, e in zip([0, *cuts], [*cuts, n], strict=True):
            both = (int(ia[s]), int(ib[s]))
            sa = store.rows(pa_[s:e], keep=both)
            sb = store.rows(pb_[s:e], keep=both)
            est[s:e] = np.count_nonzero(sa == sb, axis=1) / cfg.num_perm
        keep = est >= cfg.verify_threshold - 1e-12
        yield store.ids[pa_[keep]], store.ids[pb_[keep]], est[keep]
    con.execute("DROP TABLE pos_ab")
    con.execute("DROP TABLE sig_pos")


def verified_pairs(
    con: duckdb.DuckDBPyConnection, bands_dir: Path, cfg: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All of `iter_verified` at once: (a, b, estimated Jaccard). For small inputs and tests;
    the global step consumes the batches as they come."""
    parts = list(iter_verified(con, bands_dir, cfg))
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), np.zeros(0)
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]


def components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the edges (a, b): (nodes sorted, lowest node of each one's
    component). Min-label propagation with pointer jumping, vectorized."""
    nodes = np.unique(np.concatenate([a, b]))
    ia = np.searchsorted(nodes, a)
    ib = np.searchsorted(nodes, b)
    label = np.arange(len(nodes))
    while True:
        m = np.minimum(label[ia], label[ib])
        new = label.copy()
        np.minimum.at(new, ia, m)
        np.minimum.at(new, ib, m)
        while True:  # pointer jumping: follow labels to their current root
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, label):
            return nodes, nodes[label]
        label = new
