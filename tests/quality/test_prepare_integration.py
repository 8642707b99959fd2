"""The quality steps inside the real `forge prepare`: dedup, temporal split, leakage check and
the report on the tweet CSVs (mac_roman, `M/D/YY H:MM` timestamps); stratified split with
class balancing on a labelled chat file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forge.config import ForgeConfig
from forge.data.pipeline import prepare
from forge.data.read import iter_records
from forge.data.split import parse_timestamp


def _tokenizer(texts: list[str], path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    tok.save(str(path))
    return tok


@pytest.mark.real_data
def test_tweets_prepared_with_a_temporal_split(shared_data, tmp_path):
    files = [shared_data / "tabular" / n for n in ("realDonaldTrump.csv", "BarackObama.csv")]
    rows = [obj for f in files for _, _, obj in iter_records(f) if isinstance(obj, dict)]
    assert len(rows) == 3232 + 3207  # the prepare reader decodes mac_roman
    tok = _tokenizer([r["text"] for r in rows], tmp_path / "tokenizer.json")
    cfg = ForgeConfig.model_validate(
        {
            "model": {"tokenizer": str(tmp_path / "tokenizer.json"), "max_length": 256},
            "data": {
                "name": "tweets",
                "output_dir": str(tmp_path / "data"),
                "sources": [{"path": str(f)} for f in files],
            },
            "preprocessing": {
                "workers": 1,
                "split": {
                    "method": "temporal",
                    "timestamp_field": "created_at",
                    "validation": 0.1,
                    "test": 0.1,
                },
            },
        }
    )
    res = prepare(cfg)
    m = res.manifest
    g = m["global_step"]
    assert g["duplicates"]["exact"] + g["duplicates"]["near"] == m["counts"]["dedup"]["rejected"]
    assert m["global_step"]["leakage"]["ok"]
    assert m["counts"]["dedup"]["rejected"] > 0  # retweeted / repeated tweets
    kept = m["counts"]["dedup"]["out"]
    splits = m["counts"]["splits"]
    assert abs(splits["test"] - 0.1 * kept) <= 5 and abs(splits["validation"] - 0.1 * kept) <= 5

    # Decode every document of every split and place it in time by its text.
    when: dict[str, list[int]] = {}
    for r in rows:
        when.setdefault(" ".join(r["text"].split()), []).append(parse_timestamp(r["created_at"]))
    eot = tok.token_to_id("<|endoftext|>")
    times = {}
    for split in ("train", "validation", "test"):
        index = json.loads((res.out / "tokens" / split / "index.json").read_text())
        found = []
        for shard in index["shards"]:
            arr = np.fromfile(res.out / "tokens" / split / shard["file"], dtype=index["dtype"])
            ends = np.flatnonzero(arr == eot)
            starts = np.concatenate(([0], ends[:-1] + 1))
            for s, e in zip(starts, ends, strict=True):
                text = " ".join(tok.decode(arr[s:e].tolist()).split())
                if len(when.get(text, [])) == 1:  # unambiguous texts only
                    found.append(when[text][0])
        assert len(found) > 0.9 * splits[split]
        times[split] = found
    assert max(times["train"]) < min(times["validation"])
    assert max(times["validation"]) < min(times["test"])

    # The report prepare wrote: splits, rejections, leakage from the engine.
    report = json.loads((res.out / "report.json").read_text())
    assert report["kind"] == "dataset"
    assert report["leakage"]["by"] == "forge prepare" and report["leakage"]["ok"]
    assert (
        report["duplicates"]["exact"] + report["duplicates"]["near"]
        == m["counts"]["dedup"]["rejected"]
    )
    assert report["splits"]["train"]["tokens_total"] == m["tokens"]["train"]["total"]
    assert (res.out / "report.html").read_text().count('class="chart') >= 2


def test_stratified_split_with_class_balancing(tmp_path):
    """A labelled chat file: stratified by `label`, the train split capped to equal classes."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(400):
        label = "pos" if i % 5 else "neg"  # 320 pos, 80 neg
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega"], size=8))
        lines.append(
            json.dumps(
                {
                    "prompt": f"Classify item {i}: {words}",
                    "response": f"{label} {i}",
                    "label": label,
                }
            )
        )
    src = tmp_path / "labelled.jsonl"
    src.write_text("\n".join(lines) + "\n")
    _tokenizer(lines, tmp_path / "tokenizer.json")
    cfg = ForgeConfig.model_validate(
        {
            "model": {
                "tokenizer": str(tmp_path / "tokenizer.json"),
                "chat_template": "chatml",
                "max_length": 256,
            },
            "data": {
                "name": "lab",
                "output_dir": str(tmp_path / "data"),
                "sources": [{"path": str(src)}],
            },
            "preprocessing": {
                "workers": 1,
                "split": {"method": "stratified", "stratify_by": "label", "validation": 0.25},
                "balance": {"enabled": True, "mode": "cap"},
            },
        }
    )
    res = prepare(cfg)
    m = res.manifest
    assert m["counts"]["dedup"]["rejected"] == 0
    # validation keeps each class's share (80 of 320 pos, 20 of 80 neg); train is capped to
    # as many pos rows as there are neg rows (60 each)
    assert m["counts"]["splits"]["validation"] == 100
    assert m["counts"]["splits"]["train"] == 120
    import pyarrow.parquet as pq

    train = [
        json.loads(x) for x in pq.read_table(res.out / "train.parquet")["messages"].to_pylist()
    ]
    labels = [msgs[-1]["content"].split()[0] for msgs in train]
    assert labels.count("pos") == labels.count("neg") == 60
