"""End to end on chat data: real datasets to Parquet with labels, and a corpus of bad inputs."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from forge.data.pipeline import prepare
from forge.data.shardio import OUTPUT_PARQUET, OUTPUT_ROW_GROUP

from .conftest import make_cfg
from .helpers import check_counts, rejected

REAL = [
    "alpaca_5000.json",
    "dummy_conversation.json",
    "glaive_toolcall_en_demo.json",
    "mllm_demo.json",
    "en_100_message.jsonl",
    "en_100_tree.jsonl",
]


def check_chat_rows(out, manifest):
    for split, files in manifest["files"].items():
        if split in ("rejected", "tokenizer"):
            continue
        t = pq.read_table(out / files[0])
        assert t.num_rows == manifest["counts"]["splits"][split]
        # the shards' parts joined as they are: their row groups, written with the outputs'
        # options
        md = pq.ParquetFile(out / files[0]).metadata
        assert all(md.row_group(g).num_rows <= OUTPUT_ROW_GROUP for g in range(md.num_row_groups))
        assert md.row_group(0).column(0).compression == OUTPUT_PARQUET["compression"].upper()
        assert t.schema.field("input_ids").type.value_type.bit_width == 32
        for row in t.to_pylist():
            assert row["text"]
            assert len(row["input_ids"]) == len(row["labels"]) == len(row["attention_mask"])
            assert any(lab != -100 for lab in row["labels"])
            assert all(
                lab in (-100, i) for lab, i in zip(row["labels"], row["input_ids"], strict=False)
            )
            assert json.loads(row["messages"])


@pytest.mark.real_data
def test_real_chat_data_end_to_end(tmp_path, shared_data, model_dir):
    sources = [{"path": str(shared_data / "chat" / name)} for name in REAL]
    cfg = make_cfg(tmp_path, sources, {"name": str(model_dir), "max_length": 4096})
    res = prepare(cfg)
    m = res.manifest
    assert m["kind"] == "chat"
    assert [s["format"] for s in m["sources"]] == [
        "alpaca",
        "sharegpt",
        "sharegpt",
        "openai",
        "oasst",
        "oasst",
    ]
    check_counts(m)
    assert m["counts"]["read"]["in"] == 5000 + 500 + 300 + 6 + 100 + 100
    check_chat_rows(res.out, m)
    # the identity conversations of dummy_conversation are near-identical: near-dedup finds them
    assert (res.out / "report.json").is_file() and (res.out / "report.html").is_file()
    dups = [r for r in rejected(res.out) if r["reason"] == "near_duplicate"]
    assert any("dummy_conversation" in r["source"][0] for r in dups)
    assert m["global_step"]["duplicates"]["near"] == len(dups)
    import datasets

    ds = datasets.load_dataset("parquet", data_files={"train": str(res.out / "train.parquet")})
    assert ds["train"].num_rows == m["counts"]["splits"]["train"]
    tool_rows = [
        r
        for r in pq.read_table(res.out / "train.parquet", columns=["messages"]).to_pylist()
        if '"tool_calls"' in r["messages"]
    ]
    assert tool_rows  # glaive's function calls survive as tool calls


@pytest.mark.real_data
def test_mt_bench_prompts_train_with_mask_all(tmp_path, shared_data, model_dir):
    src = [{"path": str(shared_data / "chat" / "question.jsonl")}]
    model = {"name": str(model_dir)}
    res = prepare(make_cfg(tmp_path / "a", src, model, mask="all", outputs=["parquet", "jsonl"]))
    assert sum(res.manifest["counts"]["splits"].values()) == 80
    check_chat_rows(res.out, res.manifest)
    for split, n in res.manifest["counts"]["splits"].items():
        lines = (res.out / f"{split}.jsonl").read_text().splitlines()
        assert len(lines) == n
        assert json.loads(lines[0]).keys() >= {"input_ids", "labels", "text", "messages", "id"}
    # prompts only: with the default mask nothing is trainable, and every row says so
    res = prepare(make_cfg(tmp_path / "b", src, model))
    reasons = {r["reason"] for r in rejected(res.out)}
    assert reasons == {"no_trainable_tokens"} and res.manifest["counts"]["encode"]["rejected"] == 80


def _bad_corpus(d):
    """(sources, good contents that must survive, (file, line, reason) that must be rejected)."""
    good, bad = [], []

    def conv(i, tag=""):
        u, a = f"question {tag}{i} \u00e9t\u00e9", f"answer {tag}{i}"
        good.append(u)
        return {"messages": [{"role": "user", "content": u}, {"role": "assistant", "content": a}]}

    lines: list[bytes] = []
    f = d / "mixed.jsonl"
    for i in range(40):
        lines.append(json.dumps(conv(i, "m"), ensure_ascii=False).encode())
        k = len(lines) + 1
        if i == 3:
            lines.append(b'{"messages": [{"role": "user", "content": "x"},')
            bad.append((f.name, k, "bad_json"))
        if i == 5:
            lines.append(b'{"messages": [{"role": "user", "content": "caf\xe9"}]}')
            bad.append((f.name, k, "invalid_encoding"))
        if i == 7:
            lines.append(b'{"messages": [{"role": "user", "content": "a\x00b"}]}')
            bad.append((f.name, k, "nul_byte"))
        if i == 9:
            lines.append(
                b'{"messages": [{"role": "user", "content": "' + b"y" * (50 << 20) + b'"}]}'
            )
            bad.append((f.name, k, "record_too_large"))
        if i == 11:
            lines.append(b'{"messages": [{"role": "user", "content": 42}]}')
            bad.append((f.name, k, "wrong_type"))
        if i == 13:
            lines.append(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": "hi"},
                            {"role": "assistant", "content": "  "},
                        ]
                    }
                ).encode()
            )
            bad.append((f.name, k, "empty_message"))
        if i == 15:
            lines.append(b"[1, 2, 3]")
            bad.append((f.name, k, "not_an_object"))
        if i == 17:
            lines.append(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": "u"},
                            {"role": "robot", "content": "r"},
                        ]
                    }
                ).encode()
            )
            bad.append((f.name, k, "unknown_role"))
    f.write_bytes(b"\n".join(lines) + b"\n")
    bom = d / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps([conv(i, "b") for i in range(5)]).encode())
    crlf = d / "crlf.jsonl"
    crlf.write_bytes(b"".join(json.dumps(conv(i, "c")).encode() + b"\r\n" for i in range(5)))
    csv = d / "legacy.csv"
    rows = ["q,a"] + [f"caf\u00e9 question {i},r\u00e9ponse {i}" for i in range(30)]
    good.extend(f"caf\u00e9 question {i}" for i in range(30))
    csv.write_bytes("\r\n".join(rows).encode("cp1252"))
    (d / "empty.jsonl").write_bytes(b"")
    bad.append(("empty.jsonl", 1, "empty_file"))
    sources = [
        {"path": str(f)},
        {"path": str(bom)},
        {"path": str(crlf)},
        {"path": str(csv), "fields": {"prompt": "q", "response": "a"}},
        {"path": str(d / "empty.jsonl")},
    ]
    return sources, good, bad


@pytest.mark.slow
def test_bad_inputs_run_to_completion_and_lose_no_good_row(tmp_path, model_dir):
    d = tmp_path / "in"
    d.mkdir()
    sources, good, bad = _bad_corpus(d)
    res = prepare(make_cfg(tmp_path / "out", sources, {"name": str(model_dir)}))
    m = res.manifest
    check_counts(m)
    encs = {f["path"].rsplit("/", 1)[-1]: f["encoding"] for s in m["sources"] for f in s["files"]}
    assert encs["legacy.csv"] == "cp1252" and encs["bom.json"] == "utf-8-sig"
    got = {
        (r["source"][0].rsplit("/", 1)[-1], r["source"][1], r["reason"]) for r in rejected(res.out)
    }
    assert got == set(bad)
    users = []
    for split in m["counts"]["splits"]:
        for row in pq.read_table(res.out / f"{split}.parquet", columns=["messages"]).to_pylist():
            users.append(json.loads(row["messages"])[0]["content"])
    assert sorted(users) == sorted(good)
    check_chat_rows(res.out, m)


def test_source_weights_scale_the_train_split(tmp_path, model_dir):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("a", "b"):
        rows = [
            {"prompt": f"{name} question {i}", "completion": f"{name} answer {i}"}
            for i in range(200)
        ]
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = [
        {"path": str(d / "a.jsonl"), "weight": 2.0},
        {"path": str(d / "b.jsonl"), "weight": 0.5},
    ]
    res = prepare(make_cfg(tmp_path / "out", src, {"name": str(model_dir)}))
    check_counts(res.manifest)
    train = pq.read_table(res.out / "train.parquet", columns=["messages", "id"]).to_pylist()
    a = [r for r in train if '"a question' in r["messages"]]
    b = [r for r in train if '"b question' in r["messages"]]
    val = res.manifest["counts"]["splits"]["validation"]
    assert len(a) == 2 * len(set(json.dumps(r["messages"]) for r in a))  # every a row twice
    assert len({r["id"] for r in train}) == len(train)  # copies get their own ids
    assert 60 < len(b) < 130  # about half of b's ~190 train rows, seeded
    sampled = [r for r in rejected(res.out) if r["reason"] == "sampled_out"]
    assert len(a) // 2 + len(b) + len(sampled) + val == 400


@pytest.mark.real_data
def test_packing_keeps_every_token(tmp_path, shared_data, model_dir):
    src = [{"path": str(shared_data / "chat" / "alpaca_en_demo.json")}]
    model = {"name": str(model_dir), "max_length": 1024}
    plain = prepare(make_cfg(tmp_path / "a", src, model))
    packed = prepare(make_cfg(tmp_path / "b", src, model, packing={"enabled": True}))
    a = pq.read_table(plain.out / "train.parquet")
    b = pq.read_table(packed.out / "train.parquet")
    assert {"position_ids", "input_ids", "labels"} <= set(b.column_names)
    assert b.num_rows < a.num_rows
    flat = lambda t, c: sorted(x for row in t[c].to_pylist() for x in row)  # noqa: E731
    assert flat(a, "input_ids") == flat(b, "input_ids")
    assert max(len(r) for r in b["input_ids"].to_pylist()) <= 1024
