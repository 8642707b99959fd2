"""`forge index` and `forge search` from the command line, and the watcher."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson

from forge.index.watch import watch


def test_index_status_and_search_from_the_cli(corpus: Path, tmp_path: Path, forge_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tldr = corpus / "tldr"
    r = forge_cli("index", str(tldr), "--json")
    assert r.code == 0, r
    report = orjson.loads(r.stdout)
    assert report["added"] == 10 and report["embedded"] == report["chunks"] >= 10
    assert Path(".forge/index.db").is_file()

    r = forge_cli("index", "--status", "--json")
    assert r.code == 0 and orjson.loads(r.stdout)["clean"] is True
    (tldr / "zip.md").write_text(
        "# zip\n\n> Package and compress files.\n\n- Zip a folder:\n\n`zip -r out.zip dir`\n"
    )
    r = forge_cli("index", "--status")
    assert r.code == 0 and "new" in r.stdout and "docs/tldr/zip.md" in r.stdout

    r = forge_cli("index")  # the remembered sources
    assert r.code == 0 and "1 added" in r.stdout, r

    r = forge_cli("search", "compress a folder into a zip", "-k", "3", "--json")
    assert r.code == 0, r
    hits = orjson.loads(r.stdout)
    assert len(hits) == 3 and hits[0]["path"] == "docs/tldr/zip.md"
    assert {"score", "path", "heading", "start_line", "end_line", "snippet"} <= set(hits[0])

    r = forge_cli("search", "secure shell login", "-k", "2", "--mode", "bm25")
    assert r.code == 0 and "docs/tldr/ssh.md" in r.stdout and "«" not in r.stdout

    r = forge_cli("search", "files", "--path", "docs/tldr/z*", "--json")
    assert [h["path"] for h in orjson.loads(r.stdout)] == ["docs/tldr/zip.md"]

    r = forge_cli("index", "--rebuild", "--json")  # from scratch, on the remembered folders
    assert r.code == 0, r
    assert orjson.loads(r.stdout)["added"] == 11


def test_cli_user_errors_are_one_red_line(tmp_path: Path, forge_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = forge_cli("search", "anything")
    assert r.code == 1 and "no index at .forge/index.db" in r.stderr and "hint:" in r.stderr
    r = forge_cli("index")
    assert r.code == 1 and "no files to index yet" in r.stderr
    r = forge_cli("index", "missing-folder")
    assert r.code == 1 and "missing-folder: no such file or folder" in r.stderr
    r = forge_cli("index", "--status", "--watch")
    assert r.code == 1 and "cannot go with --watch" in r.stderr
    r = forge_cli("search", "x", "--where", "nokey")
    assert r.code == 1
    r = forge_cli("--set", "index.mode=fuzzy", "search", "x")
    assert r.code == 1 and "index.mode" in r.stderr
    assert "Traceback" not in r.stderr


def test_search_help_has_an_example(forge_cli):
    for cmd in ("index", "search"):
        r = forge_cli(cmd, "--help")
        assert r.code == 0 and "Example:" in r.stdout


def test_watch_picks_up_new_changed_and_deleted_files(corpus: Path, make_index):
    idx = make_index()
    tldr = corpus / "tldr"
    reports = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(idx, [tldr], reports.append, stop))
    thread.start()

    def wait_for(pred, what: str) -> None:
        deadline = time.monotonic() + 60
        while not pred() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pred(), what

    try:
        wait_for(lambda: len(reports) == 1, "the first update")
        assert reports[0].added == 10
        time.sleep(0.5)  # let the watcher start
        (tldr / "zip.md").write_text("# zip\n\n> Package and compress files.\n")
        wait_for(lambda: any(r.added == 1 for r in reports[1:]), "the new file")
        (tldr / "tar.md").unlink()
        wait_for(lambda: any(r.deleted == 1 for r in reports[1:]), "the deleted file")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert not [h for h in idx.search("tar archive", k=20) if h.path.endswith("/tar.md")]
