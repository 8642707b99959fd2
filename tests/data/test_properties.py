"""Property tests: no row lost or duplicated (in = out + rejected at every stage, and every input
row is either in the output or in rejected.jsonl exactly once); every output row is valid."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge.data.pipeline import prepare

from .conftest import make_cfg
from .helpers import check_counts, rejected

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
)
raw_line = st.one_of(
    text.map(lambda t: json.dumps({"text": t})),
    st.just("{not json"),
    st.just(json.dumps({"text": 7})),
    st.just(json.dumps(["a"])),
    st.just(""),
)
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _accounted(out: Path, manifest: dict, n_lines: int) -> None:
    """Each non-blank input line is rejected at most once; outputs + rejections = inputs."""
    rej = rejected(out)
    lines = [r["source"][1] for r in rej]
    assert len(lines) == len(set(lines))
    kept = sum(manifest["counts"]["splits"].values())
    assert kept + len(rej) == manifest["counts"]["read"]["in"] == n_lines


@SETTINGS
@given(st.lists(raw_line, min_size=1, max_size=60))
def test_text_rows_are_all_accounted_for(tokenizer_json, lines):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "in.jsonl"
        data.write_text("\n".join(lines) + "\n")
        n = sum(1 for ln in lines if ln.strip())
        src = [{"path": str(data), "format": "text"}]
        cfg = make_cfg(tmp / "out", src, {"tokenizer": str(tokenizer_json)}, kind="pretrain")
        res = prepare(cfg)
        m = res.manifest
        check_counts(m)
        _accounted(res.out, m, max(n, 1))
        for split, info in m["tokens"].items():
            folder = res.out / "tokens" / split
            index = json.loads((folder / "index.json").read_text())
            for shard in index["shards"]:
                arr = np.fromfile(folder / shard["file"], dtype="<u2")
                ends = np.flatnonzero(arr == index["eot_id"])
                assert len(ends) == shard["documents"]
                assert np.all(np.diff(np.concatenate([[-1], ends])) > 1)  # no empty document
            assert info["rows"] == m["counts"]["splits"][split]


message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "bot"]), "content": text}
)
conversation = st.lists(message, min_size=0, max_size=5).map(lambda ms: {"messages": ms})


@SETTINGS
@given(st.lists(conversation, min_size=1, max_size=40))
def test_chat_rows_are_accounted_for_and_valid(model_dir, convs):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "in.jsonl"
        data.write_text("".join(json.dumps(c) + "\n" for c in convs))
        src = [{"path": str(data), "format": "openai"}]
        cfg = make_cfg(tmp / "out", src, {"name": str(model_dir)})
        res = prepare(cfg)
        m = res.manifest
        check_counts(m)
        _accounted(res.out, m, len(convs))
        for split in m["counts"]["splits"]:
            for row in pq.read_table(res.out / f"{split}.parquet").to_pylist():
                assert row["text"].strip()
                assert len(row["input_ids"]) == len(row["labels"]) == len(row["attention_mask"])
                assert all(
                    lab in (-100, i) for lab, i in zip(row["labels"], row["input_ids"], strict=True)
                )
                assert any(lab != -100 for lab in row["labels"])
