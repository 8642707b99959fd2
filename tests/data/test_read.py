"""Readers: every format, compression, encoding, and malformed records rejected with a reason."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from forge.data.encoding import detect_encoding
from forge.data.jsonstream import iter_array
from forge.data.read import MAX_RECORD_BYTES, RawError, guess_encoding, iter_records


def records(path, **kw):
    return list(iter_records(path, **kw))


def good(recs):
    return [obj for _, _, obj in recs if not isinstance(obj, RawError)]


def bad(recs):
    return [(line, obj.reason) for _, line, obj in recs if isinstance(obj, RawError)]


ROWS = [{"instruction": f"q{i}", "output": f"a{i} é"} for i in range(5)]


@pytest.mark.parametrize("comp", ["", ".gz", ".zst", ".bz2"])
def test_jsonl_compressed(tmp_path, comp):
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS).encode()
    data = {
        "": raw,
        ".gz": gzip.compress(raw),
        ".zst": zstandard.ZstdCompressor().compress(raw),
        ".bz2": bz2.compress(raw),
    }[comp]
    p = tmp_path / f"a.jsonl{comp}"
    p.write_bytes(data)
    recs = records(p)
    assert good(recs) == ROWS
    assert [(i, ln) for i, ln, _ in recs] == [(i, i + 1) for i in range(5)]


def test_json_array_object_and_jsonl_named_json(tmp_path):
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps(ROWS, indent=2))
    recs = records(arr)
    assert good(recs) == ROWS
    assert recs[1][1] == 6  # pretty-printed: each object starts 5 lines after the previous
    one = tmp_path / "one.json"
    one.write_text(json.dumps(ROWS[0], indent=2))
    assert good(records(one)) == [ROWS[0]]
    lines = tmp_path / "lines.json"
    lines.write_text("\n".join(json.dumps(r) for r in ROWS))
    assert good(records(lines)) == ROWS


def test_json_array_streams_across_chunk_boundaries():
    rows = [
        {"t": "x" * (i % 7), "s": 'a "quoted" \\ back\nslash', "n": [i, {"k": "]"}]}
        for i in range(300)
    ]
    text = json.dumps(rows, indent=1)
    for chunk in (1, 7, 64, 1 << 20):
        f = io.StringIO(text)
        assert f.read(1) == "["
        got = [obj for _, obj in iter_array(f, 10_000, chunk=chunk)]
        assert got == rows, chunk


def test_json_array_bad_element_keeps_the_rest(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('[{"a": 1},\n {"a": tru},\n {"a": 3}, 5]')
    recs = records(p)
    assert good(recs) == [{"a": 1}, {"a": 3}, 5]
    assert bad(recs) == [(2, "bad_json")]


def test_bad_lines_rejected_with_line_and_reason(tmp_path):
    p = tmp_path / "bad.jsonl"
    big = b'{"text": "' + b"x" * (MAX_RECORD_BYTES + 10) + b'"}\n'
    p.write_bytes(
        '{"text": "ok1 \u00e9t\u00e9"}\n'.encode() + b'{"text": "na\xc3\xafve"}\n'
        b'{"text": bad json}\n'
        b'{"text": "caf\xe9"}\n'  # latin-1 byte in a UTF-8 file
        b'{"text": "nul \x00 byte"}\n' + big + b"\n"
        b'{"text": "ok2"}\n'
    )
    recs = records(p)
    assert good(recs) == [{"text": "ok1 \u00e9t\u00e9"}, {"text": "na\u00efve"}, {"text": "ok2"}]
    assert bad(recs) == [
        (3, "bad_json"),
        (4, "invalid_encoding"),
        (5, "nul_byte"),
        (6, "record_too_large"),
    ]


def test_ascii_file_with_a_latin1_line_decodes_it(tmp_path):
    # no UTF-8 evidence at all: the one non-ASCII byte is read as Windows-1252, nothing lost
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"text": "plain"}\n{"text": "caf\xe9"}\n')
    assert good(records(p)) == [{"text": "plain"}, {"text": "caf\u00e9"}]


def test_bom_and_crlf(tmp_path):
    p = tmp_path / "bom.jsonl"
    p.write_bytes(codecs.BOM_UTF8 + b'{"text": "a"}\r\n{"text": "b"}\r\n')
    assert good(records(p)) == [{"text": "a"}, {"text": "b"}]
    c = tmp_path / "bom.csv"
    c.write_bytes(codecs.BOM_UTF8 + b'text,n\r\nhello,1\r\n"multi\r\nline",2\r\n')
    recs = records(c)
    assert good(recs) == [{"text": "hello", "n": "1"}, {"text": "multi\r\nline", "n": "2"}]
    assert [ln for _, ln, _ in recs] == [2, 3]


def test_csv_tsv_bad_rows(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("prompt\tresponse\nhi\tthere\nonly-one-field\nx\ty\n")
    recs = records(p)
    assert good(recs) == [{"prompt": "hi", "response": "there"}, {"prompt": "x", "response": "y"}]
    assert bad(recs) == [(3, "bad_csv_row")]


def test_parquet_and_text(tmp_path):
    p = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), p)
    assert good(records(p)) == ROWS
    t = tmp_path / "a.txt"
    t.write_text("line one\n\nline two\n")
    assert good(records(t)) == [{"text": "line one\n\nline two\n"}]
    assert good(records(t, text_unit="line")) == [{"text": "line one"}, {"text": "line two"}]
    md = tmp_path / "a.md"
    md.write_text("# Title\n\nbody\n")
    assert good(records(md)) == [{"text": "# Title\n\nbody\n", "title": "Title"}]


def test_empty_files(tmp_path):
    for name in ("e.jsonl", "e.json", "e.csv", "e.txt"):
        (tmp_path / name).write_bytes(b"")
    assert bad(records(tmp_path / "e.jsonl")) == [(1, "empty_file")]
    assert bad(records(tmp_path / "e.json")) == [(1, "empty_file")]
    assert bad(records(tmp_path / "e.csv")) == [(1, "empty_file")]
    assert bad(records(tmp_path / "e.txt")) == [(1, "empty_file")]


def test_byte_range_shards_match_whole_file(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(100)))
    data = p.read_bytes()
    cut = data.index(b"\n", 500) + 1
    first = records(p, start=0, end=cut)
    second = records(p, start=cut, first_line=len(first) + 1)
    assert first + second == records(p)


def test_encoding_detection_and_override(tmp_path):
    assert detect_encoding(b"plain").encoding == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + b"x").encoding == "utf-8-sig"
    assert detect_encoding("caf\u00e9 na\u00efve\n".encode("utf-16")).encoding == "utf-16"
    latin = ("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade\n" * 50).encode(
        "cp1252"
    )
    assert detect_encoding(latin).encoding == "cp1252"
    p = tmp_path / "x.jsonl"
    p.write_bytes('{"text": "caf\u00e9"}\n'.encode("latin-1"))
    assert good(records(p, encoding="latin-1")) == [{"text": "caf\u00e9"}]
    assert guess_encoding(p, "latin-1").encoding == "iso8859-1"


@pytest.mark.real_data
def test_tweets_decode_as_mac_roman(shared_data):
    for name in ("BarackObama.csv", "realDonaldTrump.csv"):
        path = shared_data / "tabular" / name
        g = guess_encoding(path)
        assert g.encoding == codecs.lookup("mac_roman").name, (name, g)
        recs = records(path, encoding=g.encoding)
        assert not bad(recs)
        assert len(recs) == {"BarackObama.csv": 3207, "realDonaldTrump.csv": 3232}[name]
        assert set(recs[0][2]) == {
            "created_at",
            "text",
            "url",
            "replies",
            "retweets",
            "favorites",
            "user",
        }
