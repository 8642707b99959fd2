"""How the plan cuts inputs into shards: about `shard_rows` rows each, but at least
MIN_SHARDS shards (of MIN_SHARD_ROWS rows or more) for inputs too small to give that many, so
the workers share the work evenly to the end. The plan never looks at the machine."""

from __future__ import annotations

import json

from forge.config.data import DataConfig, PreprocessingConfig
from forge.data.plan import MIN_SHARD_ROWS, MIN_SHARDS, build_plan


def _jsonl(path, rows: int):
    with open(path, "w") as f:
        for i in range(rows):
            msgs = [
                {"role": "user", "content": f"question {i}"},
                {"role": "assistant", "content": f"answer {i} " * 5},
            ]
            f.write(json.dumps({"messages": msgs}) + "\n")
    return path


def _plan(path, **pre):
    data = DataConfig(name="d", output_dir=str(path.parent), sources=[{"path": str(path)}])
    return build_plan(data, PreprocessingConfig(**pre))


def _rows(plan) -> list[int]:
    from forge.data.read import iter_records

    out = []
    for shard in plan.shards:
        n = 0
        for p in shard.pieces:
            f = plan.files[p.file]
            n += sum(
                1
                for _ in iter_records(
                    f.path,
                    f.encoding,
                    kind=f.kind,
                    start=p.start,
                    end=p.end,
                    first_line=p.first_line,
                )
            )
        out.append(n)
    return out


def test_small_inputs_get_min_shards_of_even_size(tmp_path):
    plan = _plan(_jsonl(tmp_path / "a.jsonl", 40_000))
    rows = _rows(plan)
    assert sum(rows) == 40_000
    assert MIN_SHARDS <= len(rows) <= MIN_SHARDS + 1
    assert max(rows) < 1.3 * 40_000 / MIN_SHARDS


def test_shard_rows_bounds_large_inputs_and_tiny_ones_stay_whole(tmp_path):
    plan = _plan(_jsonl(tmp_path / "b.jsonl", 6_000), shard_rows=1_000)
    assert 5 <= len(plan.shards) <= 7  # shard_rows is the bound when it is the smaller
    tiny = _plan(_jsonl(tmp_path / "c.jsonl", MIN_SHARD_ROWS))
    assert len(tiny.shards) == 1


def test_a_remainder_is_spread_over_the_shards(tmp_path):
    # 20.4 shards' worth of rows: not 19 shards of 1,000 rows and a last one of 1,400. The
    # ranges are equal in bytes, and the rows grow longer down the file ("question 20399")
    plan = _plan(_jsonl(tmp_path / "d.jsonl", 20_400), shard_rows=1_000)
    rows = _rows(plan)
    assert sum(rows) == 20_400
    assert len(rows) == 20
    assert max(rows) < 1.1 * min(rows)
