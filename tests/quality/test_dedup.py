from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge.config.quality import DedupConfig
from forge.data.dedup import find_duplicates, row_id

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
]


def sentence(rng: np.random.Generator, n: int = 30) -> str:
    return " ".join(rng.choice(WORDS + [f"w{i}" for i in range(200)], size=n))


def test_exact_and_near_keep_lowest_id(tmp_path, keys_writer):
    rng = np.random.default_rng(1)
    a, b = sentence(rng, 40), sentence(rng, 40)
    near_a = a.split()
    near_a[-1] = "changed"
    texts = [
        b,  # 0
        a,  # 1  kept
        "  " + a.upper() + "\n",  # 2 exact dup of 1 after folding
        " ".join(near_a),  # 3 near dup of 1
        sentence(rng, 40),  # 4 unique
        "  " + " ".join(near_a).upper(),  # 5 exact dup of 3 -> points at 1, the kept row
    ]
    files = keys_writer(tmp_path / "k", texts)
    r = find_duplicates(files, DedupConfig(), tmp_path / "w")
    got = {
        rid: (dup, kind)
        for rid, dup, kind in zip(*(r.column(c).to_pylist() for c in r.column_names), strict=True)
    }
    assert got == {2: (1, "exact"), 3: (1, "near"), 5: (1, "exact")}
    assert r.schema == pa.schema(
        [("row_id", pa.int64()), ("dup_of", pa.int64()), ("kind", pa.string())]
    )
    # Work files are cleaned up.
    assert not (tmp_path / "w" / "dedup").exists()


def test_switches(tmp_path, keys_writer):
    texts = ["same text here", "Same text here", "other"]
    files = keys_writer(tmp_path / "k", texts)
    assert (
        find_duplicates(files, DedupConfig(exact=False, near=False), tmp_path / "w").num_rows == 0
    )
    r = find_duplicates(files, DedupConfig(near=False), tmp_path / "w")
    assert r.column("row_id").to_pylist() == [1]
    strict = DedupConfig(near=False, lowercase=False)
    files = keys_writer(tmp_path / "k2", texts, strict)
    assert find_duplicates(files, strict, tmp_path / "w").num_rows == 0


def test_same_result_for_any_sharding_and_id_layout(tmp_path, keys_writer):
    rng = np.random.default_rng(2)
    base = [sentence(rng, 60) for _ in range(40)]
    texts = []
    for t in base:
        texts.append(t)
        w = t.split()
        w[int(rng.integers(len(w)))] = "mutated"
        texts.append(" ".join(w))
        texts.append(t)
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    results = []
    for shards in (1, 3, 7):
        files = keys_writer(tmp_path / f"k{shards}", texts, shards=shards)
        r = find_duplicates(files[::-1], DedupConfig(), tmp_path / "w")  # file order too
        results.append(r)
    assert results[0].equals(results[1]) and results[0].equals(results[2])
    assert results[0].num_rows >= 80  # 40 exact copies + most of the 40 near copies
    # Ids from several source files: (file << 40) | index, lowest id still kept.
    ids = [row_id(i % 3, i) for i in range(len(texts))]
    r = find_duplicates(
        keys_writer(tmp_path / "ids", texts, ids=ids), DedupConfig(), tmp_path / "w"
    )
    kept = set(ids) - set(r.column("row_id").to_pylist())
    assert set(r.column("dup_of").to_pylist()) <= kept
    for rid, dup in zip(
        r.column("row_id").to_pylist(), r.column("dup_of").to_pylist(), strict=True
    ):
        assert dup < rid


def test_large_bucket_is_bounded_but_found(tmp_path, keys_writer):
    # 300 copies of one boilerplate text with a varying number: one huge bucket per band.
    texts = [f"this is the standard reply of the service desk number {i}" for i in range(300)]
    cfg = DedupConfig(max_bucket_pairs=8, ngram="char", ngram_size=4)
    r = find_duplicates(keys_writer(tmp_path / "k", texts, cfg), cfg, tmp_path / "w")
    assert r.num_rows >= 250
    assert set(r.column("dup_of").to_pylist()) <= {0} | (
        set(range(300)) - set(r.column("row_id").to_pylist())
    )


def test_dummy_conversation_near_duplicates(shared_data, tmp_path, keys_writer):
    rows = json.loads((shared_data / "chat/dummy_conversation.json").read_text())
    texts = ["\n".join(f"{m['from']}: {m['value']}" for m in r["conversations"]) for r in rows]
    r = find_duplicates(keys_writer(tmp_path / "k", texts, shards=2), DedupConfig(), tmp_path / "w")
    kinds = Counter(r.column("kind").to_pylist())
    assert kinds["near"] > 100  # the identity conversations differ by a word or two
    clusters = Counter(r.column("dup_of").to_pylist())
    top, size = clusters.most_common(1)[0]
    assert size >= 20
    # Every removed row really resembles the row it points at (shared lines).
    for rid, dup in list(
        zip(r.column("row_id").to_pylist(), r.column("dup_of").to_pylist(), strict=True)
    )[:50]:
        la, lb = set(texts[rid].splitlines()), set(texts[dup].splitlines())
        assert len(la & lb) >= 1


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.integers(0, 11), min_size=1, max_size=40),
    st.lists(st.integers(0, 29), min_size=0, max_size=6),
)
def test_idempotent(tmp_path_factory, keys_writer, picks, edits):
    """dedup(dedup(x)) == dedup(x): the survivors contain no duplicate of each other."""
    rng = np.random.default_rng(3)
    pool = [sentence(rng, 30) for _ in range(12)]
    texts = []
    for i, p in enumerate(picks):
        w = pool[p].split()
        for e in edits[: i % 4]:
            w[e] = f"edit{e}"
        texts.append(" ".join(w))
    tmp = tmp_path_factory.mktemp("idem")
    files = keys_writer(tmp / "k", texts)
    cfg = DedupConfig()
    first = find_duplicates(files, cfg, tmp / "w")
    gone = set(first.column("row_id").to_pylist())
    keep = [i for i in range(len(texts)) if i not in gone]
    files2 = keys_writer(tmp / "k2", [texts[i] for i in keep], ids=keep)
    assert find_duplicates(files2, cfg, tmp / "w").num_rows == 0


def test_work_folder_with_a_quote_in_its_name(tmp_path, keys_writer):
    from forge.config.quality import SplitConfig
    from forge.data.split import assign_splits

    folder = tmp_path / "John's data"
    files = keys_writer(folder / "k", ["same words here", "same words here", "other"])
    r = find_duplicates(files, DedupConfig(), folder / "w")
    assert r.column("row_id").to_pylist() == [1]
    s = assign_splits(files, r, SplitConfig(validation=0.5), 0, folder / "w")
    assert s.num_rows == 2
