"""`forge prepare --dry-run`: what pass 1 would keep and reject on each source's sample."""

from __future__ import annotations

from collections import Counter
from typing import Any

from forge.config.data import PreprocessingConfig
from forge.data.clean import Cleaner, sanitize, total_chars
from forge.data.filters import Filters
from forge.data.normalize import Reject, normalize
from forge.data.plan import Plan
from forge.data.read import RawError, iter_records
from forge.data.records import TextDoc


def sample_counts(plan: Plan, pre: PreprocessingConfig) -> dict[str, Any]:
    cleaner = Cleaner(pre.cleaning)
    filters = Filters(pre.filters)
    out: dict[str, Any] = {}
    for src in plan.sources:
        seen = kept = 0
        reasons: Counter[str] = Counter()
        for fi in src.files:
            f = plan.files[fi]
            for _, _, obj in iter_records(f.path, f.encoding, kind=f.kind):
                if seen >= pre.sample_rows:
                    break
                seen += 1
                if isinstance(obj, RawError):
                    reasons[f"read:{obj.reason}"] += 1
                    continue
                try:
                    for rec in normalize(obj, src.format, src.fields, oasst_paths=src.oasst_paths):
                        try:
                            if isinstance(rec, TextDoc):
                                cleaner.doc(rec)
                                if not rec.text.strip():
                                    raise Reject("empty_text")
                            else:
                                sanitize(cleaner.conversation(rec))
                            filters.check(rec, total_chars(rec))
                            kept += 1
                        except Reject as r:
                            reasons[f"clean/filter:{r.reason}"] += 1
                except Reject as r:
                    reasons[f"normalize:{r.reason}"] += 1
            if seen >= pre.sample_rows:
                break
        out[src.path] = {"rows": seen, "kept": kept, "rejected": dict(reasons.most_common())}
    return out
