"""The terminal face of the report: a few Rich tables, the problems first-class."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _n(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if v % 1 else f"{int(v):,}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _dist_row(name: str, d: dict[str, Any]) -> list[str]:
    if not d or not d.get("count"):
        return [name, "0", "-", "-", "-", "-"]
    return [name, _n(d["count"]), _n(d["min"]), _n(d["p50"]), _n(d["p95"]), _n(d["max"])]


def print_summary(r: dict[str, Any], console: Console | None = None) -> None:
    c = console or Console()
    d = r.get("duplicates") or {}
    rej = r.get("rejections") or {}
    head = Table(
        title=f"Data quality: {r.get('name') or ', '.join(r.get('paths') or [])}",
        show_header=False,
        title_justify="left",
    )
    head.add_column(style="bold")
    head.add_column()
    head.add_row("rows", _n(r.get("rows", 0)))
    for s in r.get("sources") or []:
        if "format" in s:
            rows = f", {_n(s['rows'])} rows" if "rows" in s else ""
            conf = f" ({s['confidence']:.0%})" if isinstance(s.get("confidence"), float) else ""
            head.add_row("source", f"{s['path']}: {s['format']}{conf}{rows}, {s.get('encoding')}")
    head.add_row("exact duplicates", f"{_n(d.get('exact', 0))} ({d.get('exact_rate', 0):.1%})")
    head.add_row("near duplicates", f"{_n(d.get('near', 0))} ({d.get('near_rate', 0):.1%})")
    head.add_row("rejected", _n(rej.get("total", 0)))
    enc = (r.get("encoding") or {}).get("problems") or {}
    head.add_row("encoding problems", ", ".join(f"{k} {v}" for k, v in enc.items()) or "none")
    langs = r.get("languages") or {}
    total = sum(langs.values()) or 1
    head.add_row("languages", ", ".join(f"{k} {v / total:.0%}" for k, v in list(langs.items())[:6]))
    leak = r.get("leakage") or {}
    if leak.get("checked"):
        crossing = leak.get("exact_pairs", 0) + leak.get("near_pairs", 0)
        head.add_row(
            "cross-split duplicates",
            "[green]none[/green]" if not crossing else f"[red]{crossing}[/red]",
        )
    c.print(head)

    lengths = Table(title="Lengths", title_justify="left")
    for col in ("what", "n", "min", "p50", "p95", "max"):
        lengths.add_column(col, justify="right" if col != "what" else "left")
    tok = r.get("tokens") or {}
    if tok.get("all"):
        lengths.add_row(*_dist_row("tokens per row", tok["all"]))
    for role, dist in (tok.get("by_role") or {}).items():
        lengths.add_row(*_dist_row(f"tokens per {role} message", dist))
    for split, s in (r.get("splits") or {}).items() if r.get("kind") == "dataset" else []:
        if s.get("tokens"):
            lengths.add_row(*_dist_row(f"tokens, {split}", s["tokens"]))
    conv = r.get("conversations") or {}
    if conv.get("turns"):
        lengths.add_row(*_dist_row("messages per conversation", conv["turns"]))
    if lengths.row_count:
        c.print(lengths)

    fields = r.get("fields") or {}
    if fields:
        t = Table(title="Fields", title_justify="left")
        for col in ("field", "present", "missing", "empty", "p50 length"):
            t.add_column(col, justify="right" if col != "field" else "left")
        for k, s in list(fields.items())[:20]:
            t.add_row(
                k,
                _n(s["present"]),
                _n(s["missing"]),
                _n(s["empty"]),
                _n(s["length"].get("p50", "-")),
            )
        c.print(t)

    splits = r.get("splits") or {}
    if splits and r.get("kind") == "dataset":
        t = Table(title="Splits", title_justify="left")
        for col in ("split", "rows", "documents", "tokens", "trainable", "fill"):
            t.add_column(col, justify="right" if col != "split" else "left")
        for k, s in splits.items():
            t.add_row(
                k,
                _n(s.get("rows", 0)),
                _n(s.get("documents", s.get("rows", 0))),
                _n(s.get("tokens_total", "-")),
                _n(s.get("trainable_total", "-")),
                f"{s['fill_rate']:.1%}" if "fill_rate" in s else "-",
            )
        c.print(t)

    probs = r.get("problems") or []
    t = Table(title="Problems", title_justify="left")
    t.add_column("problem")
    t.add_column("count", justify="right")
    t.add_column("example")
    for p in probs[:15]:
        ex = (p.get("examples") or [{}])[0]
        text = ex.get("text") or ex.get("detail") or ex.get("row") or ex.get("text_a") or ""
        src = ex.get("source") or ex.get("source_a") or ""
        if isinstance(src, (list, tuple)):
            src = ":".join(map(str, src))
        what = p["code"] + (f" ({p['field']})" if p.get("field") else "")
        t.add_row(what, _n(p["count"]), f"{src}: {text}"[:100] if ex else "")
    if not probs:
        t.add_row("[green]none found[/green]", "", "")
    c.print(t)
