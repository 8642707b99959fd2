"""report.html: one self-contained file (inline CSS and SVG, no script, no network), so it
opens offline and can be mailed around. Charts are SVG drawn here from the report dict."""

from __future__ import annotations

from html import escape
from typing import Any

_PALETTE = ("#3b6ea8", "#e0803a", "#4f9d69", "#b5495b", "#7a68a6", "#c9a227", "#5aa5b5")
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232b;
max-width:1180px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;
padding-bottom:4px}h3{font-size:14px;margin:14px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #dde;border-radius:6px;
padding:8px 12px;min-width:120px}.card b{display:block;font-size:18px}
table{border-collapse:collapse;margin:6px 0}td,th{border-bottom:1px solid #eee;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f5f6f8}td.n{text-align:right;
font-variant-numeric:tabular-nums}.charts{display:flex;flex-wrap:wrap;gap:14px}
.ex{font-family:ui-monospace,monospace;font-size:12px;color:#444;white-space:pre-wrap}
.muted{color:#778}.bad{color:#b5495b}.ok{color:#4f9d69}svg text{font:11px system-ui,sans-serif}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, (list, tuple)):  # a source: [file, line]
        return escape(":".join(map(str, v)))
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return escape(str(v))


def histogram_svg(dist: dict[str, Any], title: str, unit: str = "") -> str:
    """Bars of a distribution's histogram, with min / p50 / p99+ on the axis."""
    h = (dist or {}).get("histogram")
    if not h or not dist.get("count"):
        return ""
    counts, edges = h["counts"], h["edges"]
    w, ht, pad = 360, 170, 28
    top = max(counts) or 1
    bw = (w - 2 * pad) / len(counts)
    bars = []
    for i, c in enumerate(counts):
        bh = (ht - 2 * pad) * c / top
        x, y = pad + i * bw, ht - pad - bh
        tip = f"{edges[i]:g}–{edges[i + 1]:g}{unit}: {c}"
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(bw - 1, 1):.1f}" '
            f'height="{bh:.1f}" fill="{_PALETTE[0]}"><title>{escape(tip)}</title></rect>'
        )
    axis = (
        f'<line x1="{pad}" y1="{ht - pad}" x2="{w - pad}" y2="{ht - pad}" stroke="#889"/>'
        f'<text x="{pad}" y="{ht - 10}">{_fmt(dist["min"])}</text>'
        f'<text x="{w / 2}" y="{ht - 10}" text-anchor="middle">p50 {_fmt(dist["p50"])}</text>'
        f'<text x="{w - pad}" y="{ht - 10}" text-anchor="end">p99 {_fmt(dist["p99"])}+</text>'
    )
    return (
        f'<svg class="chart histogram" data-chart="{escape(title)}" width="{w}" height="{ht}" '
        f'viewBox="0 0 {w} {ht}" role="img" aria-label="{escape(title)}">'
        f'<text x="{pad}" y="16" font-weight="600">{escape(title)} (n={dist["count"]:,})</text>'
        + "".join(bars)
        + axis
        + "</svg>"
    )


def bars_svg(items: list[tuple[str, float]], title: str, kind: str = "bars") -> str:
    """Horizontal bars, one per (label, value)."""
    items = [(str(k), float(v)) for k, v in items if v]
    if not items:
        return ""
    row, lw, w = 20, 150, 420
    ht = 26 + row * len(items)
    top = max(v for _, v in items) or 1
    parts = []
    for i, (label, v) in enumerate(items):
        y = 24 + i * row
        bw = (w - lw - 60) * v / top
        parts.append(
            f'<text x="{lw - 6}" y="{y + 13}" text-anchor="end">{escape(label[:24])}</text>'
            f'<rect class="bar" x="{lw}" y="{y + 2}" width="{max(bw, 1):.1f}" height="{row - 5}" '
            f'fill="{_PALETTE[i % len(_PALETTE)]}"><title>{escape(label)}: {_fmt(v)}</title></rect>'
            f'<text x="{lw + bw + 4:.1f}" y="{y + 13}">{_fmt(v if v % 1 else int(v))}</text>'
        )
    return (
        f'<svg class="chart {kind}" data-chart="{escape(title)}" width="{w}" height="{ht}" '
        f'viewBox="0 0 {w} {ht}" role="img" aria-label="{escape(title)}">'
        f'<text x="4" y="15" font-weight="600">{escape(title)}</text>' + "".join(parts) + "</svg>"
    )


def composition_svg(splits: dict[str, Any]) -> str:
    """One stacked bar: the share of rows in each split, with a legend."""
    items = [(k, v.get("rows", 0)) for k, v in splits.items() if v.get("rows")]
    total = sum(v for _, v in items)
    if not total:
        return ""
    w, ht, x = 520, 70, 10.0
    parts = []
    for i, (name, n) in enumerate(items):
        bw = (w - 20) * n / total
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="22" width="{bw:.1f}" height="22" fill="{color}">'
            f"<title>{escape(name)}: {n:,} rows</title></rect>"
        )
        lx = 10 + i * 160
        parts.append(
            f'<rect x="{lx}" y="52" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="61">{escape(name)} {n:,} ({100 * n / total:.1f}%)</text>'
        )
        x += bw
    return (
        f'<svg class="chart composition" data-chart="split composition" width="{w}" '
        f'height="{ht}" viewBox="0 0 {w} {ht}" role="img" aria-label="split composition">'
        f'<text x="10" y="15" font-weight="600">Split composition ({total:,} rows)</text>'
        + "".join(parts)
        + "</svg>"
    )


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_fmt(c)}</td>'
            if isinstance(c, (int, float))
            else f"<td>{_fmt(c)}</td>"
            for c in r
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _examples(exs: list[dict[str, Any]]) -> str:
    if not exs:
        return ""
    items = []
    for e in exs:
        src = e.get("source") or e.get("source_a")
        text = e.get("text") or e.get("detail") or e.get("row") or e.get("text_a") or ""
        items.append(f'<div class="ex">{_fmt(src)}: {escape(str(text))}</div>')
    return "".join(items)


def _overview(r: dict[str, Any]) -> str:
    d = r.get("duplicates") or {}
    rej = r.get("rejections") or {}
    leak = r.get("leakage") or {}
    cards = [
        ("rows", r.get("rows", 0)),
        ("exact duplicates", f"{d.get('exact', 0):,} ({100 * d.get('exact_rate', 0):.1f}%)"),
        ("near duplicates", f"{d.get('near', 0):,} ({100 * d.get('near_rate', 0):.1f}%)"),
        ("rejected", rej.get("total", 0)),
        ("problems", len(r.get("problems") or [])),
    ]
    if r.get("formats"):
        cards.insert(1, ("format", ", ".join(r["formats"])))
    if leak.get("checked"):
        crossing = leak.get("exact_pairs", 0) + leak.get("near_pairs", 0)
        cards.append(("cross-split duplicates", crossing))
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><span class="muted">{escape(k)}</span><b>{_fmt(v)}</b></div>'
            for k, v in cards
        )
        + "</div>"
    )


def _splits(r: dict[str, Any]) -> str:
    splits = r.get("splits") or {}
    if not splits:
        return ""
    rows = [
        [
            name,
            s.get("rows", 0),
            s.get("documents", s.get("rows", 0)),
            s.get("tokens_total", "-"),
            s.get("trainable_total", "-"),
            (s.get("tokens") or {}).get("p50", "-"),
            (s.get("tokens") or {}).get("max", "-"),
            f"{100 * s['fill_rate']:.1f}%" if "fill_rate" in s else "-",
        ]
        for name, s in splits.items()
    ]
    charts = [composition_svg(splits)]
    for name, s in splits.items():
        if s.get("tokens"):
            charts.append(histogram_svg(s["tokens"], f"tokens per row: {name}"))
        if s.get("trainable_tokens"):
            charts.append(histogram_svg(s["trainable_tokens"], f"trainable tokens: {name}"))
    return (
        "<h2>Splits</h2>"
        + f'<div class="charts">{"".join(charts)}</div>'
        + _table(
            [
                "split",
                "rows",
                "documents",
                "tokens",
                "trainable",
                "p50 tokens",
                "max tokens",
                "fill",
            ],
            rows,
        )
    )


def _lengths(r: dict[str, Any]) -> str:
    charts = []
    tok = r.get("tokens") or {}
    if tok.get("all"):
        charts.append(histogram_svg(tok["all"], "tokens per row"))
    for role, dist in (tok.get("by_role") or {}).items():
        charts.append(histogram_svg(dist, f"tokens per {role} message"))
    if (r.get("lengths") or {}).get("chars"):
        charts.append(histogram_svg(r["lengths"]["chars"], "characters per row"))
    for name, s in (r.get("fields") or {}).items():
        if s.get("length", {}).get("count"):
            charts.append(histogram_svg(s["length"], f"{name} ({s['length_unit']})"))
    conv = r.get("conversations") or {}
    if conv.get("turns"):
        charts.append(histogram_svg(conv["turns"], "messages per conversation"))
    if not any(charts):
        return ""
    note = (
        f'<p class="muted">tokenizer: {escape(tok["tokenizer"])}</p>'
        if tok.get("tokenizer")
        else ""
    )
    return "<h2>Lengths</h2>" + note + f'<div class="charts">{"".join(charts)}</div>'


def _fields(r: dict[str, Any]) -> str:
    f = r.get("fields") or {}
    if not f:
        return ""
    rows = [
        [
            k,
            s["present"],
            s["missing"],
            f"{100 * s['missing_rate']:.1f}%",
            s["empty"],
            f"{100 * s['empty_rate']:.1f}%",
            s["length"].get("p50", "-"),
            s["length_unit"],
        ]
        for k, s in f.items()
    ]
    head = ["field", "present", "missing", "missing %", "empty", "empty %", "p50 length", "unit"]
    return "<h2>Fields</h2>" + _table(head, rows)


def _mix(r: dict[str, Any]) -> str:
    charts = [bars_svg(list((r.get("languages") or {}).items()), "language mix", "languages")]
    conv = r.get("conversations") or {}
    roles = [(k, v["messages"]) for k, v in (conv.get("roles") or {}).items()]
    charts.append(bars_svg(roles, "messages per role", "roles"))
    rej = (r.get("rejections") or {}).get("top") or []
    charts.append(
        bars_svg([(x["reason"], x["count"]) for x in rej], "rejection reasons", "rejections")
    )
    charts = [c for c in charts if c]
    return ("<h2>Content</h2>" + f'<div class="charts">{"".join(charts)}</div>') if charts else ""


def _duplicates(r: dict[str, Any]) -> str:
    d = r.get("duplicates") or {}
    clusters = d.get("clusters") or []
    out = "<h2>Duplicates</h2>"
    out += (
        f"<p>{d.get('exact', 0):,} exact and {d.get('near', 0):,} near duplicates "
        f"(Jaccard ≥ {d.get('threshold', 0.8)}) among {d.get('rows', 0):,} rows.</p>"
    )
    for c in clusters[:10]:
        kept = c["kept"]
        out += (
            f"<h3>cluster of {c['size']}</h3>"
            f'<div class="ex">kept {_fmt(kept.get("source") or kept.get("row_id"))}: '
            f"{escape(str(kept.get('text') or ''))}</div>"
            + "".join(
                f'<div class="ex">removed {_fmt(m.get("source"))}: {escape(str(m.get("text") or ""))}</div>'
                for m in c["removed"]
            )
        )
    leak = r.get("leakage") or {}
    if leak.get("checked"):
        crossing = leak.get("exact_pairs", 0) + leak.get("near_pairs", 0)
        cls = "ok" if not crossing else "bad"
        out += (
            f'<p class="{cls}">Across splits: {leak.get("exact_pairs", 0)} exact and '
            f"{leak.get('near_pairs', 0)} near duplicate pairs.</p>"
        )
    return out


def _problems(r: dict[str, Any]) -> str:
    probs = r.get("problems") or []
    out = "<h2>Problems</h2>"
    if not probs:
        return out + '<p class="ok">none found</p>'
    for p in probs:
        what = p["code"] + (f" ({p['field']})" if p.get("field") else "")
        out += f"<h3>{escape(what)}: {p['count']:,}</h3>" + _examples(p.get("examples") or [])
    return out


def _sources(r: dict[str, Any]) -> str:
    src = r.get("sources") or []
    if not src:
        return ""
    rows = [
        [
            s.get("path"),
            s.get("format", "-"),
            s.get("confidence", "-"),
            s.get("rows", "-"),
            s.get("encoding", "-"),
            s.get("bytes", "-"),
        ]
        for s in src
    ]
    return "<h2>Sources</h2>" + _table(
        ["path", "format", "confidence", "rows", "encoding", "bytes"], rows
    )


def render_html(report: dict[str, Any]) -> str:
    title = report.get("name") or ", ".join(report.get("paths") or []) or "data"
    body = "".join(
        (
            f"<h1>Data quality report: {escape(str(title))}</h1>",
            f'<p class="muted">{escape(report.get("kind", ""))} · forge '
            f"{escape(str(report.get('forge_version', '')))}</p>",
            _overview(report),
            _sources(report),
            _splits(report),
            _lengths(report),
            _fields(report),
            _mix(report),
            _duplicates(report),
            _problems(report),
        )
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>forge report: {escape(str(title))}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
