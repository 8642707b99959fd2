from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from forge.config.quality import BalanceConfig, DedupConfig, SplitConfig
from forge.data.split import (
    allocate,
    assign_splits,
    balance,
    check_leakage,
    parse_timestamp,
    targets,
)
from forge.errors import ForgeError

NO_NEAR = DedupConfig(near=False)
FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def as_dict(t) -> dict[int, str]:
    return dict(zip(t.column("row_id").to_pylist(), t.column("split").to_pylist(), strict=True))


ratios = st.tuples(
    st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.33]), st.sampled_from([0.0, 0.05, 0.1, 0.2])
)


# Four DuckDB splits per example: fewer generated examples, and the edges pinned explicitly
# (one row, everything removed, no held-out splits, one stratum, many small strata).
@settings(FAST, max_examples=12)
@given(
    n=st.integers(1, 300),
    r=ratios,
    removed_every=st.integers(0, 7),
    n_strata=st.integers(1, 6),
    seed=st.integers(0, 2**31),
)
@example(n=1, r=(0.33, 0.2), removed_every=0, n_strata=1, seed=0)
@example(n=40, r=(0.1, 0.1), removed_every=1, n_strata=2, seed=1)
@example(n=300, r=(0.0, 0.0), removed_every=3, n_strata=6, seed=2)
@example(n=299, r=(0.25, 0.1), removed_every=7, n_strata=1, seed=3)
def test_random_and_stratified_preservation(
    tmp_path_factory, keys_writer, n, r, removed_every, n_strata, seed
):
    tmp = tmp_path_factory.mktemp("split")
    rng = np.random.default_rng(seed)
    strata = [f"c{int(x)}" for x in rng.integers(0, n_strata, size=n)]
    files = keys_writer(
        tmp / "k", [f"row {i}" for i in range(n)], NO_NEAR, shards=2, stratum=strata
    )
    removed = {i for i in range(n) if removed_every and i % removed_every == 0}
    for method in ("random", "stratified"):
        cfg = SplitConfig(method=method, validation=r[0], test=r[1], stratify_by="label")
        got = as_dict(assign_splits(files, removed, cfg, seed, tmp / "w"))
        # union = input minus removed; a dict means every row is in exactly one split
        assert set(got) == set(range(n)) - removed
        m = len(got)
        counts = Counter(got.values())
        for name, ratio in (("train", 1 - r[0] - r[1]), ("validation", r[0]), ("test", r[1])):
            assert abs(counts.get(name, 0) - ratio * m) <= 1 + 1e-9  # float ratios
        if method == "stratified":
            for s in set(strata):
                rows = [i for i in got if strata[i] == s]
                c = Counter(got[i] for i in rows)
                for name, ratio in (
                    ("train", 1 - r[0] - r[1]),
                    ("validation", r[0]),
                    ("test", r[1]),
                ):
                    assert abs(c.get(name, 0) - ratio * len(rows)) <= 1 + 1e-9
        # seeded: the same again
        again = as_dict(assign_splits(files[::-1], removed, cfg, seed, tmp / "w"))
        assert again == got


def test_seed_changes_assignment(tmp_path, keys_writer):
    files = keys_writer(tmp_path / "k", [f"r{i}" for i in range(200)], NO_NEAR)
    cfg = SplitConfig(validation=0.2, test=0.1)
    a = as_dict(assign_splits(files, set(), cfg, 1, tmp_path / "w"))
    b = as_dict(assign_splits(files, set(), cfg, 2, tmp_path / "w"))
    assert a != b and Counter(a.values()) == Counter(b.values())


@FAST
@given(
    times=st.lists(st.integers(0, 40), min_size=1, max_size=200),
    r=ratios,
)
def test_temporal_order(tmp_path_factory, keys_writer, times, r):
    tmp = tmp_path_factory.mktemp("temporal")
    files = keys_writer(tmp / "k", [f"r{i}" for i in range(len(times))], NO_NEAR, timestamp=times)
    cfg = SplitConfig(method="temporal", validation=r[0], test=r[1], timestamp_field="t")
    got = as_dict(assign_splits(files, set(), cfg, 0, tmp / "w"))
    assert set(got) == set(range(len(times)))
    by = {s: [times[i] for i in got if got[i] == s] for s in ("train", "validation", "test")}
    if by["train"] and by["validation"]:
        assert max(by["train"]) < min(by["validation"])
    if by["validation"] and by["test"]:
        assert max(by["validation"]) < min(by["test"])
    if by["train"] and by["test"]:
        assert max(by["train"]) < min(by["test"])
    # With distinct timestamps the counts are exact to a row.
    if len(set(times)) == len(times):
        c = Counter(got.values())
        assert abs(c.get("test", 0) - r[1] * len(times)) <= 1


def test_temporal_needs_timestamps(tmp_path, keys_writer):
    files = keys_writer(tmp_path / "k", ["a", "b"], NO_NEAR, timestamp=[1, None])
    with pytest.raises(ForgeError, match="1 of 2 rows have no readable timestamp"):
        assign_splits(
            files, set(), SplitConfig(method="temporal", timestamp_field="t"), 0, tmp_path / "w"
        )


@FAST
@given(
    groups=st.lists(
        st.one_of(st.none(), st.sampled_from(list("abcdefghij"))), min_size=1, max_size=150
    ),
    r=ratios,
    seed=st.integers(0, 1000),
)
def test_group_integrity(tmp_path_factory, keys_writer, groups, r, seed):
    tmp = tmp_path_factory.mktemp("grouped")
    files = keys_writer(
        tmp / "k", [f"r{i}" for i in range(len(groups))], NO_NEAR, shards=3, group=groups
    )
    cfg = SplitConfig(method="grouped", validation=r[0], test=r[1], group_by="user")
    got = as_dict(assign_splits(files, {0}, cfg, seed, tmp / "w"))
    assert set(got) == set(range(1, len(groups)))
    where: dict[str, set[str]] = {}
    for i, s in got.items():
        if groups[i] is not None:
            where.setdefault(groups[i], set()).add(s)
    assert all(len(v) == 1 for v in where.values())


@given(
    counts=st.lists(st.integers(0, 50), min_size=1, max_size=8),
    r=ratios,
)
def test_allocate_rounds_within_one_row(counts, r):
    counts = np.array(counts)
    p = np.array([1 - r[0] - r[1], r[0], r[1]])
    a = allocate(counts, p)
    assert (a >= 0).all()
    assert (a.sum(axis=1) == counts).all()
    assert (a.sum(axis=0) == targets(int(counts.sum()), p)).all()
    assert (np.abs(a - counts[:, None] * p[None, :]) <= 1 + 1e-9).all()


def test_parse_timestamp_formats():
    assert parse_timestamp("10/23/17 12:30") == 1508761800
    assert parse_timestamp("2017-10-23T12:30:00Z") == 1508761800
    assert parse_timestamp("2017-10-23 14:30:00+02:00") == 1508761800
    assert parse_timestamp("Mon Oct 23 12:30:00 +0000 2017") == 1508761800
    assert parse_timestamp("Mon, 23 Oct 2017 12:30:00 +0000") == 1508761800
    assert parse_timestamp(1508761800) == 1508761800
    assert parse_timestamp(1508761800123) == 1508761800
    assert parse_timestamp("1508761800") == 1508761800
    assert parse_timestamp("2017-10-23") == 1508716800
    assert parse_timestamp("not a date") is None and parse_timestamp("") is None


def read_tweets(path) -> list[dict]:
    # The prepare reader detects these files' encoding (mac_roman) and parses the CSV.
    from forge.data.read import iter_records

    return [obj for _, _, obj in iter_records(path) if isinstance(obj, dict)]


def test_tweets_temporal_split(shared_data, tmp_path, keys_writer):
    rows = []
    for name in ("realDonaldTrump.csv", "BarackObama.csv"):
        rows += read_tweets(shared_data / "tabular" / name)
    assert len(rows) == 3232 + 3207
    ts = [parse_timestamp(r["created_at"]) for r in rows]
    assert None not in ts
    texts = [r["text"] for r in rows]
    files = keys_writer(tmp_path / "k", texts, DedupConfig(), shards=2, timestamp=ts)
    from forge.data.dedup import find_duplicates

    removed = find_duplicates(files, DedupConfig(), tmp_path / "w")
    cfg = SplitConfig(method="temporal", validation=0.1, test=0.1, timestamp_field="created_at")
    splits = assign_splits(files, removed, cfg, 0, tmp_path / "w")
    got = as_dict(splits)
    assert len(got) == len(rows) - removed.num_rows
    span = {s: [ts[i] for i in got if got[i] == s] for s in ("train", "validation", "test")}
    assert (
        max(span["train"]) < min(span["validation"]) <= max(span["validation"]) < min(span["test"])
    )
    assert abs(len(span["test"]) - 0.1 * len(got)) <= 5  # minute ties may move a cut a little
    leak = check_leakage(files, splits, DedupConfig(), tmp_path / "w")
    assert leak["ok"], leak


def test_alpaca_stratified_by_derived_column(shared_data, tmp_path, keys_writer):
    rows = json.loads((shared_data / "chat/alpaca_5000.json").read_text())

    def kind(r):  # derived: input or not, and a coarse output length class
        return ("in" if r["input"].strip() else "noin") + (
            "-long" if len(r["output"]) > 300 else "-short"
        )

    strata = [kind(r) for r in rows]
    texts = [f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in rows]
    files = keys_writer(tmp_path / "k", texts, DedupConfig(), shards=4, stratum=strata)
    from forge.data.dedup import find_duplicates

    removed = find_duplicates(files, DedupConfig(), tmp_path / "w")
    cfg = SplitConfig(method="stratified", validation=0.1, test=0.1, stratify_by="kind")
    got = as_dict(assign_splits(files, removed, cfg, 7, tmp_path / "w"))
    assert len(got) == 5000 - removed.num_rows
    for s in set(strata):
        ids = [i for i in got if strata[i] == s]
        c = Counter(got[i] for i in ids)
        assert abs(c["validation"] - 0.1 * len(ids)) <= 1 and abs(c["test"] - 0.1 * len(ids)) <= 1


def test_leakage_found_when_dedup_is_off(tmp_path, keys_writer):
    base = "the same long sentence about packing sequences for training language models well"
    texts = [
        base,
        base.upper(),
        base.replace("well", "nicely"),
        "unrelated words entirely here",
    ] * 5
    files = keys_writer(tmp_path / "k", texts)
    splits = assign_splits(files, set(), SplitConfig(validation=0.3, test=0.3), 0, tmp_path / "w")
    leak = check_leakage(files, splits, DedupConfig(), tmp_path / "w")
    assert not leak["ok"] and leak["exact_pairs"] > 0 and leak["near_pairs"] > 0
    ex = leak["examples"][0]
    assert ex["split_a"] != ex["split_b"]
    # After dedup there is none.
    from forge.data.dedup import find_duplicates

    removed = find_duplicates(files, DedupConfig(), tmp_path / "w")
    splits = assign_splits(files, removed, SplitConfig(validation=0.3, test=0.3), 0, tmp_path / "w")
    assert check_leakage(files, splits, DedupConfig(), tmp_path / "w")["ok"]


def test_balance_cap_and_upsample(tmp_path, keys_writer):
    labels = ["pos"] * 80 + ["neg"] * 20 + ["mid"] * 40
    files = keys_writer(
        tmp_path / "k", [f"r{i}" for i in range(len(labels))], NO_NEAR, stratum=labels
    )
    splits = assign_splits(
        files,
        set(),
        SplitConfig(method="stratified", validation=0.0, test=0.0, stratify_by="y"),
        0,
        tmp_path / "w",
    )

    def per_class(t):
        c: Counter = Counter()
        for rid, n in zip(
            t.column("row_id").to_pylist(), t.column("copies").to_pylist(), strict=True
        ):
            c[labels[rid]] += n
        return c

    capped = balance(splits, files, BalanceConfig(enabled=True), 0)
    assert per_class(capped) == {"pos": 20, "neg": 20, "mid": 20}
    up = balance(splits, files, BalanceConfig(enabled=True, mode="upsample"), 0)
    assert per_class(up) == {"pos": 80, "neg": 80, "mid": 80}
    # neg rows are each written 4 times; no row of pos is dropped
    copies = dict(
        zip(up.column("row_id").to_pylist(), up.column("copies").to_pylist(), strict=True)
    )
    assert {copies[i] for i in range(80, 100)} == {4} and {copies[i] for i in range(80)} == {1}
    target = balance(
        splits, files, BalanceConfig(enabled=True, target={"pos": 0.5, "neg": 0.25, "mid": 0.25}), 0
    )
    assert per_class(target) == {"pos": 40, "neg": 20, "mid": 20}
    capped_limit = balance(
        splits, files, BalanceConfig(enabled=True, mode="upsample", max_upsample=2), 0
    )
    assert per_class(capped_limit)["neg"] == 40
    # deterministic
    assert balance(splits, files, BalanceConfig(enabled=True), 0).equals(capped)


@pytest.mark.parametrize("cap", [1000, 3], ids=["all-pairs", "large-buckets"])
def test_leakage_from_dedups_band_files_equals_its_own(shared_data, tmp_path, keys_writer, cap):
    """The global step hands near dedup's band files and star-wise buckets to the leakage
    check; over dedup's kept rows the result equals the check's own LSH over those rows
    alone (with a cap of 3 most clusters are compared star-wise, and some near pairs among
    the kept rows are never compared by dedup)."""
    rows = json.loads((shared_data / "chat/alpaca_5000.json").read_text())[:1500]
    texts = [f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in rows]
    words = [t.split() for t in texts[:80]]
    for k in range(8):  # clusters of near copies drifting from their first row
        texts += [" ".join(w[: len(w) - 2 * k] + ["x"] * k) for w in words]
    texts += texts[:50]  # exact duplicates
    # two-value bands: buckets of loosely similar rows, many past the cap
    cfg = DedupConfig(max_bucket_pairs=cap, bands=16, rows=2, num_perm=32)
    files = keys_writer(tmp_path / "k", texts, cfg, shards=3)
    from forge.data.dedup import find_duplicates

    bands = tmp_path / "bands"
    removed = find_duplicates(files, cfg, tmp_path / "w", keep_bands=bands)
    assert (bands / "large-buckets.parquet").is_file() and removed.num_rows > 400
    splits = assign_splits(files, removed, SplitConfig(validation=0.3, test=0.3), 0, tmp_path / "w")
    own = check_leakage(files, splits, cfg, tmp_path / "own")
    reused = check_leakage(files, splits, cfg, tmp_path / "reused", bands)
    assert own == reused
    if cap == 3:
        assert pq.read_table(bands / "large-buckets.parquet").num_rows > 100


def test_candidates_of_the_recorded_large_buckets(tmp_path, keys_writer):
    """`record_large` keeps the buckets compared star-wise; `only_large` finds exactly their
    pairs (each row against the bucket's lowest and its predecessor by id)."""
    from collections import defaultdict

    from forge.data.dedup.lsh import LARGE, candidate_pairs, connect, write_bands

    base = [
        "packing",
        "many",
        "short",
        "sequences",
        "into",
        "one",
        "context",
        "window",
        "saves",
        "padding",
    ]
    texts = [" ".join(base[: 6 + i % 5] + [f"w{i % 7}"]) for i in range(120)]
    cfg = DedupConfig(max_bucket_pairs=3, bands=16, rows=2, num_perm=32)
    files = keys_writer(tmp_path / "k", texts, cfg)
    bands = write_bands(files, cfg, tmp_path / "bands")
    con = connect(tmp_path / "a", cfg)
    candidate_pairs(con, bands, 3, record_large=True)
    every = set(con.sql("SELECT a, b FROM pairs").fetchall())
    large = {(r["band"], r["bucket"]) for r in pq.read_table(bands / LARGE).to_pylist()}
    con = connect(tmp_path / "b", cfg)
    candidate_pairs(con, bands, 3, only_large=True)
    got = set(con.sql("SELECT a, b FROM pairs").fetchall())
    members = defaultdict(list)
    for f in sorted(bands.glob("band-*.parquet")):
        band = int(f.stem.split("-")[1])
        for r in pq.read_table(f).to_pylist():
            members[(band, r["bucket"])].append(r["row_id"])
    want = set()
    for key in large:
        ids = sorted(members[key])
        assert len(ids) > 3
        want |= {(ids[0], x) for x in ids[1:]} | set(zip(ids, ids[1:], strict=False))
    assert large and got == want and got <= every
