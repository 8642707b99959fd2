"""`forge generate --trace`: the indexed corpus chunks nearest to a generated sample."""

from __future__ import annotations

import orjson
import yaml
from tests.train.conftest import tiny_config


def test_generate_trace_shows_nearest_corpus_chunks(corpus, tmp_path, forge_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pages = corpus / "tldr"
    text = tmp_path / "corpus.md"
    text.write_text("\n\n".join(p.read_text() for p in sorted(pages.glob("*.md"))))
    cfg = tmp_path / "forge.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config(text, tmp_path / "runs", max_steps=10)))

    r = forge_cli("--config", str(cfg), "generate", "x", "--trace", "3")
    assert r.code == 1  # no run yet: a user error, not a traceback
    assert forge_cli("--config", str(cfg), "train", "--run-name", "m", "--json").code == 0

    r = forge_cli("--config", str(cfg), "generate", "m", "--prompt", "- ", "--trace", "3", "--json")
    assert r.code == 1 and "--trace needs an index" in r.stderr
    assert forge_cli("--config", str(cfg), "index", str(pages), "--json").code == 0

    r = forge_cli("--config", str(cfg), "generate", "m", "--prompt", "- ", "--seed", "1",
                  "--max-new-tokens", "60", "--trace", "3", "--json")  # fmt: skip
    assert r.code == 0, r
    out = orjson.loads(r.stdout)
    assert len(out["trace"]) == 3
    assert all(h["path"].startswith("docs/tldr/") for h in out["trace"])
    scores = [h["score"] for h in out["trace"]]
    assert scores == sorted(scores, reverse=True) and -1.0 <= scores[-1] <= scores[0] <= 1.0

    r = forge_cli("--config", str(cfg), "generate", "m", "--prompt", "- ", "--trace", "2")
    assert r.code == 0 and "nearest indexed chunks" in r.stdout and "docs/tldr/" in r.stdout
