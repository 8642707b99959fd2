"""The quality report of a prepared dataset from pass 2's partials (report-stats.json) says what
a scan of every written row says; without the file (or with one that no longer matches the
splits) the report scans."""

from __future__ import annotations

import json

import orjson
import pytest

from forge.data.pipeline import prepare
from forge.data.report import build_report, partial

from .conftest import make_cfg

SOURCES = [
    "dummy_conversation.json",  # near-duplicate identity chats: clusters with kept texts
    "glaive_toolcall_en_demo.json",
    "mllm_demo.json",
    "en_100_message.jsonl",
    "alpaca_en_demo.json",
]


def _without(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "problems"} | {
        "problems": sorted(report["problems"], key=lambda p: (p["code"], -p["count"]))
    }


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, shared_data, model_dir):
    out = tmp_path_factory.mktemp("partials")
    sources = [{"path": str(shared_data / "chat" / n)} for n in SOURCES]
    # small shards, so the partials of many shards (and both splits in each) are merged
    cfg = make_cfg(
        out,
        sources,
        {"name": str(model_dir), "max_length": 4096},
        shard_rows=150,
        workers=2,
        split={"validation": 0.2},
    )
    return prepare(cfg)


@pytest.mark.real_data
def test_report_from_partials_equals_a_full_scan(prepared, tmp_path):
    out = prepared.out
    assert (out / partial.FILE).is_file()
    assert len(prepared.plan.shards) > 3
    from_partials = json.loads((out / "report.json").read_text())
    assert from_partials["duplicates"]["clusters"]  # kept rows' texts are looked up
    assert from_partials["duplicates"]["clusters"][0]["kept"]["text"]
    assert from_partials["text_rows_measured"] == from_partials["rows"]

    (out / partial.FILE).rename(tmp_path / partial.FILE)
    try:
        scanned = orjson.loads(orjson.dumps(build_report(out), default=str))
    finally:
        (tmp_path / partial.FILE).rename(out / partial.FILE)
    assert _without(from_partials) == _without(scanned)
    assert from_partials == scanned


@pytest.mark.real_data
def test_stale_partials_are_not_used(prepared, tmp_path, monkeypatch):
    data = partial.read(prepared.out / partial.FILE)
    assert data is not None
    data["splits"]["train"]["rows"] += 1
    data["splits"]["train"]["languages"] = [["xx", 1]]
    ds = tmp_path / "ds"
    ds.mkdir()
    for p in prepared.out.iterdir():
        if p.is_file():
            (ds / p.name).write_bytes(p.read_bytes())
    partial.write(ds / partial.FILE, data)
    report = build_report(ds)
    assert "xx" not in report["languages"]
    assert report["splits"]["train"]["rows"] == prepared.manifest["counts"]["splits"]["train"]


def test_merge_keeps_first_seen_order_and_exact_counts():
    a, b = partial.RowStats(1), partial.RowStats(1)
    import numpy as np

    msgs = [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello"}]
    a.add("train", np.array([3, 5]), np.array([1, 2]), ["ab", "abc"], [msgs, None], ["1", "2"])
    b.add("train", np.array([5]), np.array([2]), ["x"], [None], ["3"])
    b.add("validation", np.array([7]), np.array([0]), ["xyz"], [msgs], ["4"])
    m = partial.merge([a.to_dict(), b.to_dict()], ["train", "validation"])
    assert list(m["splits"]) == ["train", "validation"]
    t = m["splits"]["train"]
    assert t["rows"] == 3 and t["tokens"] == {"v": [3, 5], "c": [1, 2]}
    assert partial.split_entry(t)["tokens_total"] == 13
    assert partial.split_entry(t)["trainable_total"] == 5
    convs, text, n = partial.whole(m)
    assert n == 4
    s = convs.summary()
    assert s["conversations"] == 2 and list(s["roles"]) == ["user", "assistant"]
    assert sum(text.languages.values()) == 4


def test_sampling_is_deterministic_and_near_the_bound():
    ids = [str(i) for i in range(20_000)]
    stride = 4
    picked = [r for r in ids if partial.measured(r, stride)]
    assert picked == [r for r in ids if partial.measured(r, stride)]
    assert abs(len(picked) - len(ids) / stride) < 0.05 * len(ids) / stride
    assert partial.text_stride(10) == 1
