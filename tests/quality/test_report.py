from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forge.data.report import build_report, inspect_paths, write_report

CHAT = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Name a primary color.", "Red is a primary color."),
    (
        "¿Dónde está la biblioteca de la ciudad?",
        "La biblioteca está en el centro de la ciudad y es grande.",
    ),
    ("Translate: thank you", "Merci."),
    ("Give me a fruit.", "An apple is a fruit."),
    ("Count to three.", "One, two, three."),
]


def _row(i: int, q: str, a: str) -> dict:
    msgs = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    ids = list(range(1, 4 + len(q.split()) + len(a.split())))
    n_prompt = 2 + len(q.split())
    return {
        "input_ids": ids,
        "labels": [-100] * n_prompt + ids[n_prompt:],
        "attention_mask": [1] * len(ids),
        "text": f"user: {q}\nassistant: {a}",
        "messages": json.dumps(msgs),
        "id": str(i),
    }


def make_dataset(root: Path) -> Path:
    """A prepared folder as docs/prepared-data.md describes it, with planted problems."""
    root.mkdir(parents=True)
    schema = pa.schema(
        [
            ("input_ids", pa.list_(pa.int32())),
            ("labels", pa.list_(pa.int32())),
            ("attention_mask", pa.list_(pa.int8())),
            ("text", pa.string()),
            ("messages", pa.string()),
            ("id", pa.string()),
        ]
    )
    train = [_row(i, q, a) for i, (q, a) in enumerate(CHAT[:4])]
    train.append(_row(10, "Whatâ€™s the weather like today?", "It is sunny."))  # mojibake
    # A test row that is an exact copy of a train row: leakage the report must flag.
    test = [_row(20, *CHAT[0])]
    validation = [_row(30, *CHAT[4]), _row(31, *CHAT[5])]
    for name, rows in (("train", train), ("validation", validation), ("test", test)):
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / f"{name}.parquet")
    rejected = [
        {
            "source": ["raw.jsonl", 7],
            "stage": "dedup",
            "reason": "duplicate",
            "detail": "duplicate of row 0",
            "row_id": 6,
        },
        {
            "source": ["raw.jsonl", 8],
            "stage": "dedup",
            "reason": "duplicate",
            "detail": "duplicate of row 0",
            "row_id": 7,
        },
        {
            "source": ["raw.jsonl", 9],
            "stage": "dedup",
            "reason": "near_duplicate",
            "detail": "duplicate of row 1",
            "row_id": 8,
        },
        {
            "source": ["raw.jsonl", 3],
            "stage": "read",
            "reason": "bad_json",
            "detail": "unexpected character at 12",
            "row_id": 2,
        },
        {
            "source": ["raw.jsonl", 4],
            "stage": "encode",
            "reason": "too_long",
            "detail": "5000 > 2048 tokens",
            "row_id": 3,
        },
        {
            "source": ["raw.jsonl", 5],
            "stage": "encode",
            "reason": "too_long",
            "detail": "4000 > 2048 tokens",
            "row_id": 4,
        },
    ]
    (root / "rejected.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rejected))
    manifest = {
        "forge_version": "0.1.0",
        "name": "fixture",
        "kind": "chat",
        "model": "char-tiny",
        "template": "chatml",
        "inputs": [{"path": "raw.jsonl", "bytes": 1234, "xxh64": "abc"}],
        "counts": {
            "read": {"in": 14, "out": 13, "rejected": 1},
            "dedup": {"in": 13, "out": 10, "rejected": 3},
            "encode": {"in": 10, "out": 8, "rejected": 2},
            "splits": {"train": 5, "validation": 2, "test": 1},
        },
        "files": {
            "train": ["train.parquet"],
            "validation": ["validation.parquet"],
            "test": ["test.parquet"],
        },
    }
    (root / "manifest.json").write_bytes(orjson.dumps(manifest))
    return root


def test_dataset_report(tmp_path):
    r = build_report(make_dataset(tmp_path / "ds"))
    assert r["kind"] == "dataset" and r["rows"] == 8
    assert {k: v["rows"] for k, v in r["splits"].items()} == {
        "train": 5,
        "validation": 2,
        "test": 1,
    }
    assert list(r["splits"]) == ["train", "validation", "test"]
    train_tokens = sum(len(_row(i, q, a)["input_ids"]) for i, (q, a) in enumerate(CHAT[:4]))
    assert r["splits"]["train"]["tokens_total"] == train_tokens + len(
        _row(10, "Whatâ€™s the weather like today?", "It is sunny.")["input_ids"]
    )
    assert 0 < r["splits"]["train"]["trainable_total"] < r["splits"]["train"]["tokens_total"]
    # rejections: top reasons with examples
    top = {x["reason"]: x for x in r["rejections"]["top"]}
    assert top["too_long"]["count"] == 2 and top["too_long"]["examples"][0]["source"] == [
        "raw.jsonl",
        4,
    ]
    assert r["rejections"]["total"] == 6
    # duplicates from rejected.jsonl: the largest cluster is row 0's, with its kept text
    d = r["duplicates"]
    assert (d["exact"], d["near"]) == (2, 1)
    assert d["exact_rate"] == round(2 / 13, 4)
    assert d["clusters"][0]["size"] == 3 and "capital of France" in d["clusters"][0]["kept"]["text"]
    # the train/test copy is found and reported
    assert r["leakage"]["checked"] and r["leakage"]["exact_pairs"] == 1
    assert r["leakage"]["near_pairs"] == 0  # the exact pair is not counted twice
    assert {r["leakage"]["examples"][0]["split_a"], r["leakage"]["examples"][0]["split_b"]} == {
        "train",
        "test",
    }
    # encoding problems, languages, conversation shape
    assert r["encoding"]["problems"].get("mojibake") == 1
    assert r["languages"]["en"] >= 5 and r["languages"].get("es") == 1
    assert r["conversations"]["roles"]["user"]["messages"] == 8
    assert r["conversations"]["turns"]["p50"] == 2
    codes = {p["code"] for p in r["problems"]}
    assert {
        "cross_split_duplicate",
        "encoding_mojibake",
        "rejected_too_long",
        "exact_duplicate",
    } <= codes


def test_write_report_files(tmp_path):
    r = build_report(make_dataset(tmp_path / "ds"))
    j, h = write_report(r, tmp_path / "out")
    assert json.loads(j.read_text())["rows"] == 8
    html = h.read_text()
    assert html.count('class="chart histogram"') >= 3 and 'class="chart composition"' in html
    assert "<script" not in html and "http" not in html.split("</style>")[1]  # offline, no fetches
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_not_a_dataset(tmp_path):
    from forge.errors import ForgeError

    with pytest.raises(ForgeError, match="no manifest.json"):
        build_report(tmp_path)


def test_raw_inspect_jsonl_with_problems(tmp_path):
    p = tmp_path / "raw.jsonl"
    lines = [
        {"instruction": "Say hi", "input": "", "output": "Hi there, how are you doing today?"},
        {"instruction": "Say hi", "input": "", "output": "Hi there, how are you doing today?"},
        {"instruction": "Add 2 and 2", "input": "", "output": "4"},
        {"instruction": "Fix this", "input": "Itâ€™s broken", "output": ""},
        {"instruction": "List colors", "input": None, "output": "red, green, blue"},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n"
    p.write_text(text)
    r = inspect_paths([p])
    assert r["kind"] == "raw" and r["sources"][0]["format"] == "alpaca"
    assert r["rows"] == 6 and r["records"] == 5
    assert r["duplicates"]["exact"] == 1
    assert r["fields"]["output"]["empty"] == 1 and r["fields"]["input"]["missing"] == 1
    assert r["fields"]["input"]["empty"] == 3
    assert r["encoding"]["problems"]["mojibake"] == 1
    assert r["rejections"]["top"][0]["reason"] == "bad_json"
    assert r["rejections"]["top"][0]["examples"][0]["source"] == [str(p), 6]
    assert r["conversations"]["roles"]["assistant"]["messages"] == 5
    assert r["tokens"]["all"]["count"] == 5


def test_raw_inspect_tweets_mac_roman(shared_data):
    r = inspect_paths([shared_data / "tabular" / "BarackObama.csv"], limit=800)
    assert r["sources"][0]["encoding"] in ("mac_roman", "mac-roman")
    assert r["records"] == 800 and r["fields"]["created_at"]["present"] == 800
    assert r["languages"]["en"] > 600


def test_dummy_conversation_inspect_finds_near_duplicates(shared_data):
    r = inspect_paths([shared_data / "chat" / "dummy_conversation.json"])
    assert r["sources"][0]["format"] == "sharegpt"
    assert r["duplicates"]["near"] > 200
    big = r["duplicates"]["clusters"][0]
    assert big["size"] > 50 and len(big["removed"]) == 3


def test_inspect_cli(forge_cli, tmp_path):
    ds = make_dataset(tmp_path / "ds")
    res = forge_cli("inspect", str(ds), "--json")
    assert res.code == 0, res
    assert json.loads(res.stdout)["splits"]["test"]["rows"] == 1
    res = forge_cli("inspect", str(ds), "--out", str(tmp_path / "rep"))
    assert res.code == 0 and "Problems" in res.stdout and "cross_split_duplicate" in res.stdout
    assert (tmp_path / "rep" / "report.html").is_file()
    res = forge_cli("inspect", str(tmp_path / "missing.jsonl"))
    assert res.code == 1 and "no such file" in res.stderr
    (tmp_path / "empty").mkdir()
    res = forge_cli("inspect", str(tmp_path / "empty"))
    assert (
        res.code == 1
        and "no data files in this folder" in res.stderr
        and "Traceback" not in res.stderr
    )


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_html_renders_in_headless_chromium(tmp_path):
    r = build_report(make_dataset(tmp_path / "ds"))
    _, html = write_report(r, tmp_path / "out")
    base = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*base, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    # The rendered DOM holds the charts with their bars: the HTML parsed and nothing was lost.
    assert dom.count('class="chart histogram"') >= 3
    assert 'class="chart composition"' in dom and 'data-chart="language mix"' in dom
    assert dom.count('class="bar"') > 20
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,1600", html.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_manifest_leakage_and_sources_are_used(tmp_path):
    root = make_dataset(tmp_path / "ds")
    m = orjson.loads((root / "manifest.json").read_bytes())
    m["global_step"] = {"leakage": {"exact_pairs": 0, "near_pairs": 0, "examples": [], "ok": True}}
    m["sources"] = [
        {
            "path": "raw.jsonl",
            "format": "alpaca",
            "confidence": 1.0,
            "files": [{"path": "raw.jsonl", "encoding": "utf-8"}],
        }
    ]
    m["repairs"] = {"encoding_repaired": 4}
    (root / "manifest.json").write_bytes(orjson.dumps(m))
    r = build_report(root)
    assert r["leakage"]["by"] == "forge prepare" and r["leakage"]["ok"]
    assert r["sources"] == [
        {"path": "raw.jsonl", "format": "alpaca", "confidence": 1.0, "encoding": "utf-8"}
    ]
    assert r["encoding"]["repaired"] == 4 and r["input_rows"] == 14


def test_packed_dataset_report(tmp_path):
    from forge.data.pack import pack_table

    root = make_dataset(tmp_path / "ds")
    t = pq.read_table(root / "train.parquet")
    pq.write_table(pack_table(t, 32), root / "train.parquet")
    r = build_report(root)
    train = r["splits"]["train"]
    assert train["documents"] == 5 and train["rows"] < 5
    assert train["tokens_total"] == sum(len(x) for x in t.column("input_ids").to_pylist())
    assert 0.5 < train["fill_rate"] <= 1.0


def test_fields_missing_only_where_the_field_exists(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text('{"instruction": "x", "output": "y"}\n{"instruction": "z", "output": "w"}\n')
    b.write_text('{"text": "one document"}\n{"text": "another document"}\n{"text": null}\n')
    r = inspect_paths([a, b])
    assert r["fields"]["instruction"]["missing"] == 0 and r["fields"]["instruction"]["rows"] == 2
    assert r["fields"]["text"]["rows"] == 3 and r["fields"]["text"]["missing"] == 1


def test_large_dataset_is_sampled_for_text_but_exact_for_tokens(tmp_path, monkeypatch):
    from forge.data.report import splitscan

    monkeypatch.setattr(splitscan, "TEXT_ROWS", 3)
    monkeypatch.setattr(splitscan, "_BATCH", 2)  # several batches per file
    r = build_report(make_dataset(tmp_path / "ds"))
    assert r["text_rows_measured"] == 2  # every 3rd of 8 rows
    assert sum(r["languages"].values()) == 2
    assert r["splits"]["train"]["rows"] == 5 and r["splits"]["train"]["tokens"]["count"] == 5
    full = build_report(make_dataset(tmp_path / "ds2"))
    for s in ("train", "validation", "test"):
        assert r["splits"][s]["tokens_total"] == full["splits"][s]["tokens_total"]
        assert r["splits"][s]["trainable_total"] == full["splits"][s]["trainable_total"]
    # the kept row of the largest duplicate cluster still shows its text
    assert "capital of France" in r["duplicates"]["clusters"][0]["kept"]["text"]
