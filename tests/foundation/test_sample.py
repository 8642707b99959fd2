"""The data sampler behind `forge plan`: formats, row counts, token-length percentiles."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forge.catalog.sample import guess_format, sample_data
from forge.errors import ForgeError


def test_jsonl_rows_and_percentiles(tmp_path):
    p = tmp_path / "a.jsonl"
    with open(p, "w") as f:
        for i in range(1, 101):  # row i has 4*i bytes of text -> ~i tokens
            f.write(json.dumps({"text": "abcd" * i}) + "\n")
    s = sample_data([str(p)])
    assert s.rows == 100 and s.rows_exact and s.kind == "text"
    assert s.tokens == {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "max": 100}
    assert s.total_tokens == sum(range(1, 101))
    assert "estimate" in s.token_method


def test_sampling_stops_early_but_counts_every_row(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text(
        "".join(json.dumps({"prompt": "q", "completion": "a" * 40}) + "\n" for _ in range(5000))
    )
    s = sample_data([str(p)], max_rows=100)
    assert s.sampled_rows == 100 and s.rows == 5000 and s.kind == "instruction"
    assert s.formats == {"prompt_completion": 100}


@pytest.mark.parametrize(
    ("rec", "fmt"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "openai"),
        ({"conversations": [{"from": "human", "value": "hi"}]}, "sharegpt"),
        ({"message_id": "1", "text": "hi", "role": "prompter", "replies": []}, "oasst"),
        ({"instruction": "do", "input": "", "output": "done"}, "alpaca"),
        ({"prompt": "p", "completion": "c"}, "prompt_completion"),
        ({"question": "q", "answer": "a"}, "query_response"),
        ({"text": "plain"}, "text"),
        ({"a": 1}, "unknown"),
    ],
)
def test_guess_format(rec, fmt):
    assert guess_format(rec) == fmt


def test_csv_parquet_json_and_text(tmp_path):
    c = tmp_path / "t.csv"
    with open(c, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer"])
        for i in range(30):
            w.writerow([f"q{i}", "x" * 100])
    pq.write_table(pa.table({"text": ["y" * 400] * 50}), tmp_path / "t.parquet")
    (tmp_path / "t.json").write_text(json.dumps([{"instruction": "i", "output": "o"}] * 7))
    (tmp_path / "notes.md").write_text("# Notes\n" + "word " * 1000)
    s = sample_data([str(tmp_path)])
    assert len(s.files) == 4
    assert s.rows == 30 + 50 + 7 + 1
    assert s.formats["query_response"] == 30 and s.formats["text"] == 51
    assert s.kind == "instruction"


def test_a_tokenizer_gives_exact_counts(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    p = tmp_path / "d.jsonl"
    p.write_text(
        json.dumps({"text": "hello world hello"}) + "\n" + json.dumps({"text": "world"}) + "\n"
    )
    s = sample_data([str(p)], tokenizer=str(tmp_path / "tokenizer.json"))
    assert s.token_method == "tokenizer.json" and s.tokens["max"] == 3 and s.total_tokens == 4


def test_errors_name_the_path(tmp_path):
    with pytest.raises(ForgeError, match="no such file"):
        sample_data([str(tmp_path / "missing.jsonl")])
    with pytest.raises(ForgeError, match="matches no file"):
        sample_data([str(tmp_path / "*.jsonl")])
    bad = tmp_path / "bad.json"
    bad.write_text('[{"a": 1},\n {"b": }]')
    with pytest.raises(ForgeError, match=r"bad.json:2: invalid JSON"):
        sample_data([str(bad)])
    broken = tmp_path / "half.jsonl"
    broken.write_text('{"text": "ok"}\n{not json\n')
    s = sample_data([str(broken)])
    assert s.sampled_rows == 1 and "not JSON" in s.warnings[0]


def test_real_shared_files(shared_data):
    s = sample_data([str(shared_data / "chat" / "en_100_message.jsonl")])
    assert s.rows == 100 and s.kind == "chat" and s.formats == {"oasst": 100}
    t = sample_data([str(shared_data / "text" / "tinyshakespeare.txt")])
    assert t.kind == "text" and t.total_chars > 1_000_000


def test_a_large_text_file_counts_in_full(tmp_path, monkeypatch):
    from forge.catalog import sample

    monkeypatch.setattr(sample, "TEXT_SAMPLE", 1000)  # read 1 kB of a 100 kB file
    p = tmp_path / "big.txt"
    p.write_text("abcd" * 25_000)
    s = sample.sample_data([str(p)])
    assert s.rows == 1 and s.total_tokens == 25_000 and s.total_chars == 100_000


def test_real_tweets_csv_is_text(shared_data):
    # columns created_at, text, url, replies, ...: a `replies` count is not a message tree
    s = sample_data([str(shared_data / "tabular" / "BarackObama.csv")])
    assert s.kind == "text" and s.formats == {"text": s.sampled_rows}
