"""The Ray executor runs the same passes on a local Ray instance and writes the same bytes."""

from __future__ import annotations

import json

import pytest

from forge.data.pipeline import prepare

from .conftest import make_cfg
from .helpers import check_counts, tree_digest


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path, tokenizer_json):
    pytest.importorskip("ray")
    data = tmp_path / "docs.jsonl"
    data.write_text(
        "".join(json.dumps({"text": f"doc {i} " + "w" * (i % 13)}) + "\n" for i in range(900))
    )
    src = [{"path": str(data)}]
    model = {"tokenizer": str(tokenizer_json)}
    local = prepare(make_cfg(tmp_path / "local", src, model, shard_rows=200))
    remote = prepare(
        make_cfg(tmp_path / "ray", src, model, shard_rows=200, workers=2), executor="ray"
    )
    check_counts(remote.manifest)
    assert len(remote.plan.shards) > 2
    assert tree_digest(local.out) == tree_digest(remote.out)
