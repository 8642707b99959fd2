"""Chunking: verbatim spans with exact lines, never over the model's limit, nothing lost."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge.index import Chunker
from forge.index.parse import normalize_newlines, parse


def check_chunks(raw: str, chunks, limit: int) -> None:
    """The invariants every chunk of every file keeps."""
    lines = normalize_newlines(raw).split("\n")
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines), c
        assert c.text.strip(), c
        assert c.text in "\n".join(lines[c.start_line - 1 : c.end_line]), c
        assert c.tokens <= limit, c


def test_chunk_invariants_over_all_markdown(markdown_dir: Path, chunker: Chunker):
    files = sorted(markdown_dir.rglob("*.md"))
    assert len(files) > 1000
    total = 0
    for f in files:
        raw = f.read_text(encoding="utf-8")
        doc, chunks = chunker.chunk(raw, str(f))
        check_chunks(raw, chunks, chunker.max_tokens)
        # Nothing is lost: every non-blank line is in a chunk, or is a heading of an empty section.
        covered = set()
        for c in chunks:
            covered.update(range(c.start_line, c.end_line + 1))
        for n, line in enumerate(doc.text.split("\n"), start=1):
            if line.strip() and n not in covered:
                assert line.lstrip().startswith("#"), f"{f}:{n} not in any chunk: {line!r}"
        total += len(chunks)
    assert total >= len(files)


def test_the_models_own_tokenizer_agrees(markdown_dir: Path, chunker: Chunker, embedder):
    """Counted with the tokenizer sentence-transformers uses: nothing is truncated."""
    chunks = []
    for f in sorted((markdown_dir / "rust-book" / "src").glob("ch0[4-9]*.md")):
        chunks += chunker.chunk(f.read_text(encoding="utf-8"), f.name)[1]
    texts = [c.embed_text for c in chunks]
    ids = embedder.model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    assert embedder.model.max_seq_length == 256
    assert max(len(x) for x in ids) <= 256
    assert [len(x) for x in ids] == [c.tokens for c in chunks]
    assert max(c.tokens for c in chunks) > 200  # the limit is used, not just respected


def test_heading_paths_and_front_matter(chunker: Chunker):
    raw = (
        "---\ntitle: Notes\ntags: [rust, memory]\n---\n"
        "Intro line.\n\n# Ch 4\n\n## Ownership\n\nOwnership text.\n\n### Moves\n\nMove text.\n\n"
        "## Borrowing\n\nBorrow text.\n"
    )
    doc, chunks = chunker.chunk(raw, "notes.md")
    assert doc.meta == {"title": "Notes", "tags": ["rust", "memory"]}
    by_heading = {c.heading: c for c in chunks}
    assert list(by_heading) == [
        "",
        "Ch 4 > Ownership",
        "Ch 4 > Ownership > Moves",
        "Ch 4 > Borrowing",
    ]
    assert by_heading[""].text == "Intro line."
    assert by_heading[""].start_line == 5
    moves = by_heading["Ch 4 > Ownership > Moves"]
    assert (moves.start_line, moves.end_line) == (13, 15)
    assert moves.text == "### Moves\n\nMove text."
    assert all("title:" not in c.text for c in chunks)  # front matter is metadata, not text
    check_chunks(raw, chunks, chunker.max_tokens)


def test_bad_front_matter_warns_and_keeps_the_text(chunker: Chunker):
    raw = "---\ntitle: [unclosed\n---\n# Title\n\nBody text.\n"
    doc, chunks = chunker.chunk(raw, "bad.md")
    assert doc.meta == {}
    assert doc.warnings and doc.warnings[0].startswith("bad.md:")
    assert "Body text." in chunks[0].text


def test_code_fence_kept_whole_when_it_fits(chunker: Chunker):
    para = "Ownership moves values between variables. " * 20
    fence = "```rust\n" + "\n".join(f"let v{i} = vec![{i}];" for i in range(12)) + "\n```"
    raw = f"# Code\n\n{para}\n\n{fence}\n\n{para}\n"
    _, chunks = chunker.chunk(raw, "code.md")
    assert len(chunks) > 1
    assert sum(fence in c.text for c in chunks) >= 1
    for c in chunks:  # no chunk holds part of the fence only
        assert ("```rust" in c.text) == ("let v11" in c.text)
    check_chunks(raw, chunks, chunker.max_tokens)


def test_oversized_fence_and_giant_line_are_split_within_the_limit(chunker: Chunker):
    fence = (
        "```\n"
        + "\n".join(f"value_{i} = compute(value_{i - 1}, {i})" for i in range(300))
        + "\n```"
    )
    giant = " ".join(f"word{i}" for i in range(2000))
    blob = "x" * 5000
    raw = f"# Big\n\n{fence}\n\n{giant}\n\n{blob}\n"
    _, chunks = chunker.chunk(raw, "big.md")
    check_chunks(raw, chunks, chunker.max_tokens)
    assert "value_299" in "".join(c.text for c in chunks)
    assert "word1999" in "".join(c.text for c in chunks)
    assert sum(c.text.count("x") for c in chunks) >= 5000  # overlap may repeat a piece


def test_sections_split_with_overlap(chunker: Chunker):
    paras = [
        f"Paragraph {i} talks about borrowing rule number {i} in some detail." for i in range(60)
    ]
    raw = "# Rules\n\n" + "\n\n".join(paras) + "\n"
    _, chunks = chunker.chunk(raw, "rules.md")
    assert len(chunks) >= 2
    for a, b in zip(chunks, chunks[1:], strict=False):
        last_para = a.text.split("\n\n")[-1]
        assert b.text.startswith(last_para)  # the small last block is repeated
        assert b.start_line == a.end_line
    check_chunks(raw, chunks, chunker.max_tokens)


BLOCKS = st.sampled_from(
    [
        "Plain words about closures and traits.",
        "- item one\n- item two\n  continued",
        "| a | b |\n| - | - |\n| 1 | 2 |",
        "```\nfn main() {}\n```",
        "> quoted text\n> more",
        "    indented code",
        "word " * 120,
        "",
    ]
)
HEADINGS = st.sampled_from(["# Top", "## Mid", "### Low", "#### Deeper", "Setext\n---"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(BLOCKS, HEADINGS), max_size=25), st.sampled_from(["\n", "\r\n"]))
def test_invariants_hold_for_any_document(embedder, parts, newline):
    small = Chunker(embedder.count_tokens, max_tokens=48, overlap_tokens=12)
    raw = newline.join(p.replace("\n", newline) + newline for p in parts)
    doc, chunks = small.chunk(raw, "gen.md")
    check_chunks(raw, chunks, 48)
    for c in chunks:
        assert c.tokens == embedder.count_tokens([c.embed_text])[0]
    words = sum(1 for p in parts if p.startswith("word"))
    if words:
        assert sum(c.text.count("word") for c in chunks) >= 120 * words


def test_parse_finds_headings_only_at_top_level():
    doc = parse("> ### quoted heading\n\n# Real\n\ntext\n")
    assert [s.heading for s in doc.sections] == [(), ("Real",)]


def test_a_sections_title_is_embedded_once(chunker: Chunker):
    """The first chunk begins with the section's heading line, so its context is the parents."""
    para = " ".join(f"word{i} filler text about borrowing." for i in range(12))
    body = "\n\n".join(para for _ in range(12))  # several chunks for one section
    raw = f"# Ch 4\n\nIntro.\n\n## Borrowing `rules`\n\n{body}\n"
    _, chunks = chunker.chunk(raw, "notes.md")
    first = chunks[0]
    assert first.heading == "Ch 4" and first.context == ""
    assert first.embed_text == "# Ch 4\n\nIntro."
    borrowing = [c for c in chunks if c.heading == "Ch 4 > Borrowing rules"]
    assert len(borrowing) >= 3
    assert borrowing[0].text.startswith("## Borrowing `rules`")
    assert borrowing[0].embed_text.startswith("Ch 4\n\n## Borrowing `rules`\n\n")
    assert borrowing[0].embed_text.count("Borrowing") == 1
    for later in borrowing[1:]:  # a later chunk lacks the heading line: it gets the whole path
        assert later.context == "Ch 4 > Borrowing rules"
        assert later.embed_text == f"Ch 4 > Borrowing rules\n\n{later.text}"
    check_chunks(raw, chunks, chunker.max_tokens)
    assert [c.tokens for c in chunks] == chunker.count([c.embed_text for c in chunks])
