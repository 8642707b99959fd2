"""Checkpoints: round trip, atomicity, pruning, tokenizer checks."""

from __future__ import annotations

import pytest
import torch

from forge.errors import ForgeError
from forge.train.checkpoint import (
    checkpoint_tokenizer,
    list_checkpoints,
    load_state,
    load_weights,
    prune,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from forge.train.model import GPT, GPTConfig
from forge.train.tokenizer import train_char


def _setup():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=2, n_embd=16)
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 12, (2, 8))
    model(x, x)[1].backward()
    opt.step()
    return cfg, model, opt, train_char(["abcdefghij"])


def test_round_trip(tmp_path):
    cfg, model, opt, tok = _setup()
    state = {"optimizer": opt.state_dict(), "rng": [rng_state()], "step": 3}
    ckpt = save_checkpoint(tmp_path, 3, model, tok, state, {"model": cfg.to_dict()})
    expected_draw = torch.rand(3)

    fresh = GPT(cfg)
    load_weights(ckpt, fresh)
    x = torch.randint(0, 12, (2, 8))
    assert torch.equal(model(x)[0], fresh(x)[0])
    assert fresh.lm_head.weight.data_ptr() == fresh.wte.weight.data_ptr()  # still tied
    loaded = load_state(ckpt)
    opt2 = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    opt2.load_state_dict(loaded["optimizer"])
    for a, b in zip(opt.state.values(), opt2.state.values(), strict=True):
        assert torch.equal(a["exp_avg"], b["exp_avg"])
    set_rng_state(loaded["rng"][0])
    assert torch.equal(torch.rand(3), expected_draw)  # the RNG continues where it was saved
    assert checkpoint_tokenizer(ckpt).to_str() == tok.to_str()


def test_partial_checkpoints_are_invisible_and_pruned(tmp_path):
    cfg, model, opt, tok = _setup()
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, model, tok, {"step": step}, {"model": cfg.to_dict()})
    # a save killed half way: a temp folder with no meta.json
    (tmp_path / "checkpoints" / ".tmp-step-0000050-999999").mkdir()
    assert [s for s, _ in list_checkpoints(tmp_path)] == [10, 20, 30, 40]
    prune(tmp_path, keep_last=2, best_step=10)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [10, 30, 40]
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))


def test_edited_tokenizer_is_refused(tmp_path):
    cfg, model, opt, tok = _setup()
    ckpt = save_checkpoint(tmp_path, 1, model, tok, {}, {"model": cfg.to_dict()})
    train_char(["abcdefghijk"]).save(str(ckpt / "tokenizer.json"))
    with pytest.raises(ForgeError, match="trained with tokenizer"):
        checkpoint_tokenizer(ckpt)
