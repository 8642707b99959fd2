"""`forge template check`: run the battery through one template and report what it does."""

from __future__ import annotations

from collections import Counter
from typing import Any

from forge.chat import builtin
from forge.chat.battery import cases, outcome
from forge.chat.spans import MaskError, SpanFinder
from forge.chat.template import ChatTemplate, builtin_template
from forge.chat.tokenizer import ChatTokenizer


def _family_builtin(t: ChatTemplate, cfg: Any) -> ChatTemplate | None:
    """forge's built-in to compare a model folder's own template with: the configured family,
    the catalog's, else the built-in that renders a sample of the battery identically."""
    if t.source != "model-folder":
        return None
    if cfg is not None and cfg.family in builtin.FAMILIES:
        return builtin_template(cfg.family)
    try:
        from forge import catalog

        spec = catalog.find(cfg.name)  # type: ignore[union-attr]
        if spec.template in builtin.FAMILIES:
            return builtin_template(spec.template)
    except Exception:  # the catalog cannot place it: look for a built-in that renders alike
        pass
    sample = cases()[::9]
    for name in builtin.FAMILIES:
        cand = builtin_template(name)
        specials = {**cand.special_tokens, **t.special_tokens}
        if all(outcome(t, c, **specials) == outcome(cand, c, **specials) for c in sample):
            return cand
    return None


def run_check(t: ChatTemplate, tok: ChatTokenizer | None, cfg: Any = None) -> dict[str, Any]:
    specials = {**t.special_tokens, **(tok.special_tokens if tok else {})}
    finder = SpanFinder(t, **specials)
    battery = cases()
    refusals: Counter[str] = Counter()
    rendered = answers = spans_ok = 0
    problems: list[str] = []
    for case in battery:
        kind, text = outcome(t, case, **specials)
        if kind == "error":
            refusals[text] += 1
            continue
        rendered += 1
        msgs = t.inputs(case.messages)
        want = [
            i
            for i, m in enumerate(msgs)
            if m.get("role") == "assistant"
            and isinstance(m.get("content"), str)
            and m["content"].strip()
        ]
        try:
            marked, pos, every = finder.render(
                msgs, tools=case.tools, add_generation_prompt=case.add_generation_prompt
            )
            spans = {s.index: s for s in finder.spans(msgs, marked, pos, every, want)}
        except MaskError as e:
            problems.append(f"{case.name}: {e}")
            continue
        for i in want:
            answers += 1
            s = spans.get(i)
            content = msgs[i]["content"]
            inside = s is not None and (
                content.strip() in marked[s.start : s.end] or "</think>" in content
            )
            spans_ok += inside
    notes = []
    if tok is not None and tok.adds_bos:
        notes.append(
            "the tokenizer adds bos by itself; forge encodes template text without it (one bos, from the template)"
        )
    if (
        tok is not None
        and t.special_tokens.get("bos_token")
        and tok.bos_token
        and t.special_tokens["bos_token"] != tok.bos_token
    ):
        notes.append(
            f"template bos {t.special_tokens['bos_token']!r} differs from the tokenizer's {tok.bos_token!r}; the tokenizer's is used"
        )
    if spans_ok < answers:
        problems.append(f"{answers - spans_ok} answers are not inside their trained spans")
    same = None
    ref = _family_builtin(t, cfg)
    if ref is not None:
        same = all(outcome(t, c, **specials) == outcome(ref, c, **specials) for c in battery)
        notes.append(
            f"model folder template {'matches' if same else 'DIFFERS from'} forge's built-in {ref.name!r} on the battery"
        )
    return {
        "template": t.name,
        "source": t.source,
        "hash": t.hash,
        "cases": len(battery),
        "rendered": rendered,
        "refused": sum(refusals.values()),
        "refusals": dict(refusals),
        "answers": answers,
        "spans_ok": spans_ok,
        "matches_builtin": same,
        "notes": notes,
        "problems": problems,
    }
