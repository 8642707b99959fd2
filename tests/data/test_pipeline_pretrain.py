"""End to end on pretraining text: token shards, manifest, no-op reruns, rebuilds, workers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from forge.data.pipeline import prepare

from .conftest import make_cfg
from .helpers import check_counts, rejected, tree_digest


def sources(shared_data):
    return [
        {"path": str(shared_data / "tabular" / "*.csv")},
        {"path": str(shared_data / "text" / "tinyshakespeare.txt")},
        {"path": str(shared_data / "markdown" / "rust-book" / "src")},
    ]


@pytest.mark.real_data
def test_text_to_token_shards(tmp_path, shared_data, tokenizer_json):
    cfg = make_cfg(
        tmp_path, sources(shared_data), {"tokenizer": str(tokenizer_json)}, shard_rows=1000
    )
    res = prepare(cfg)
    assert res.status == "built"
    m = res.manifest
    assert m["kind"] == "pretrain"
    check_counts(m)
    encs = {f["path"].rsplit("/", 1)[-1]: f["encoding"] for s in m["sources"] for f in s["files"]}
    assert encs["BarackObama.csv"] == "mac-roman"
    assert m["counts"]["read"]["in"] == 3207 + 3232 + 1 + 112
    tok = Tokenizer.from_file(str(tokenizer_json))
    eot = tok.token_to_id("<|endoftext|>")
    for split in m["counts"]["splits"]:
        folder = res.out / "tokens" / split
        index = json.loads((folder / "index.json").read_text())
        assert index["dtype"] == "uint16" and index["eot_id"] == eot
        docs = tokens = 0
        for shard in index["shards"]:
            arr = np.fromfile(folder / shard["file"], dtype="<u2")
            assert len(arr) == shard["tokens"]
            assert int((arr == eot).sum()) == shard["documents"]
            assert arr[-1] == eot
            docs += shard["documents"]
            tokens += shard["tokens"]
        assert docs == m["counts"]["splits"][split]
        assert tokens == m["tokens"][split]["total"]
    # the first training document decodes back to a cleaned source text
    index = json.loads((res.out / "tokens" / "train" / "index.json").read_text())
    arr = np.fromfile(res.out / "tokens" / "train" / index["shards"][0]["file"], dtype="<u2")
    first = tok.decode(arr[: int(np.argmax(arr == eot))].tolist())
    assert first and "\ufffd" not in first
    # duplicate tweets (retweeted texts, near-identical ones) go with the row they duplicate
    dups = [r for r in rejected(res.out) if r["stage"] == "dedup"]
    assert dups and all(r["reason"] in ("duplicate", "near_duplicate") for r in dups)
    assert all("duplicate of row" in r["detail"] for r in dups)
    assert m["counts"]["dedup"]["rejected"] == len(dups)
    assert (res.out / "tokenizer" / "tokenizer.json").is_file()
    assert not (res.out / ".work").exists()


@pytest.mark.real_data
def test_rerun_is_a_noop_and_changes_rebuild(tmp_path, shared_data, tokenizer_json):
    src = [{"path": str(shared_data / "tabular" / "BarackObama.csv")}]
    cfg = make_cfg(tmp_path, src, {"tokenizer": str(tokenizer_json)})
    first = prepare(cfg)
    before = tree_digest(first.out)
    again = prepare(cfg)
    assert again.status == "up_to_date"
    assert tree_digest(first.out) == before
    changed = make_cfg(tmp_path, src, {"tokenizer": str(tokenizer_json)}, seed=1)
    rebuilt = prepare(changed)
    assert rebuilt.status == "built" and "config" in rebuilt.changed
    assert prepare(changed, force=True).status == "built"


@pytest.mark.real_data
def test_workers_do_not_change_the_bytes(tmp_path, shared_data, tokenizer_json):
    src = sources(shared_data)[:1]
    one = prepare(make_cfg(tmp_path / "a", src, {"tokenizer": str(tokenizer_json)}, shard_rows=500))
    two = prepare(
        make_cfg(tmp_path / "b", src, {"tokenizer": str(tokenizer_json)}, shard_rows=500, workers=2)
    )
    a, b = tree_digest(one.out), tree_digest(two.out)
    a.pop("manifest.json"), b.pop("manifest.json")
    assert a == b and len(a) > 4


def test_dry_run_writes_nothing(tmp_path, tokenizer_json):
    data = tmp_path / "docs.jsonl"
    data.write_text(
        "".join(json.dumps({"text": f"document {i}"}) + "\n" for i in range(50)) + "{bad\n"
    )
    cfg = make_cfg(tmp_path / "out", [{"path": str(data)}], {"tokenizer": str(tokenizer_json)})
    res = prepare(cfg, dry_run=True)
    assert res.status == "dry_run" and res.plan.kind == "pretrain"
    assert res.sample[str(data)] == {"rows": 51, "kept": 50, "rejected": {"read:bad_json": 1}}
    assert not (tmp_path / "out").exists()
