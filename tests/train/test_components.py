"""Components by name: a plugin's scheduler, optimizer and tracker run in the loop untouched;
early stopping ends a run that stops improving."""

from __future__ import annotations

import pytest
from tests.train.conftest import tiny_config

from forge.config import validate
from forge.errors import ForgeError
from forge.registry import register
from forge.train.loop import train

CALLS: dict[str, list] = {"lr": [], "metrics": [], "closed": []}


@register("scheduler", "test-halving")
def halving(step, max_lr, min_lr, warmup, total):
    CALLS["lr"].append(step)
    return max_lr / 2 ** (step // 2)


@register("tracker", "test-memory")
class MemoryTracker:
    def __init__(self, run_dir, params, **_):
        self.params = params

    def log(self, metrics, step):
        CALLS["metrics"].append((step, dict(metrics)))

    def log_text(self, name, text, step):
        pass

    def close(self):
        CALLS["closed"].append(True)


def test_plugin_components_are_used(stdlib_corpus, tmp_path):
    import torch

    from forge.train import optim

    @register("optimizer", "test-sgd")
    def plain_sgd(model, cfg, device):
        return torch.optim.SGD(optim.param_groups(model, 0.0), lr=cfg.lr)

    cfg = tiny_config(stdlib_corpus, tmp_path / "runs", max_steps=6, scheduler="test-halving",
                      optimizer="test-sgd", lr=0.4)  # fmt: skip
    cfg["tracking"] = {"trackers": ["test-memory"]}
    from forge.track.console import ConsoleReporter

    console = ConsoleReporter(bar=True)  # the Rich progress bar a terminal gets
    train(validate(cfg), console=console)
    assert console.progress is None  # stopped at the end
    assert CALLS["lr"] == list(range(6))
    lrs = [m["lr"] for _, m in CALLS["metrics"] if "lr" in m]
    assert lrs == [0.4, 0.4, 0.2, 0.2, 0.1, 0.1]
    assert any("val/loss" in m for _, m in CALLS["metrics"]) and CALLS["closed"]


def test_unknown_component_names_the_known_ones(stdlib_corpus, tmp_path):
    cfg = tiny_config(stdlib_corpus, tmp_path / "runs", optimizer="adamww")
    with pytest.raises(ForgeError, match="did you mean 'adamw'"):
        train(validate(cfg))


def test_early_stopping(stdlib_corpus, tmp_path):
    # lr 10 without warmup wrecks the model after the first step: validation never improves
    cfg = tiny_config(stdlib_corpus, tmp_path / "runs", max_steps=40, lr=10.0, warmup_steps=0,
                      scheduler="constant", eval_interval=2, patience=3, grad_clip=0.0)  # fmt: skip
    result = train(validate(cfg))
    assert result.status == "stopped_early"
    assert result.step < 40 and result.best_step is not None
    assert result.step == result.best_step + 3 * 2


def test_gradient_accumulation_matches_the_larger_batch(stdlib_corpus, tmp_path):
    from forge.track.sinks import read_metrics

    def losses(name, batch, accum):
        cfg = tiny_config(stdlib_corpus, tmp_path / "runs", max_steps=6, batch_size=batch,
                          gradient_accumulation=accum, run_name=name)  # fmt: skip
        return [m["loss"] for m in read_metrics(train(validate(cfg)).run_dir) if "loss" in m]

    one, four = losses("one", 8, 1), losses("four", 2, 4)
    assert len(one) == len(four) == 6
    for a, b in zip(one, four, strict=True):
        assert abs(a - b) < 1e-5, (one, four)
