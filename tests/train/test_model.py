"""The GPT: shapes, causality, KV cache, weight tying, optional RoPE/RMSNorm/SwiGLU."""

from __future__ import annotations

import pytest
import torch

from forge.train.model import GPT, GPTConfig, KVCache

VARIANTS = [
    {},
    {"position": "rope", "norm": "rmsnorm", "mlp": "swiglu", "bias": False},
    {"position": "rope", "dropout": 0.1},
]


def make(**kw) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=37, block_size=16, n_layer=2, n_head=2, n_embd=24, **kw)
    return GPT(cfg).eval()


@pytest.mark.parametrize("kw", VARIANTS)
def test_shapes_and_loss(kw):
    m = make(**kw)
    x = torch.randint(0, 37, (3, 16))
    logits, loss = m(x)
    assert logits.shape == (3, 16, 37) and loss is None
    logits, loss = m(x, x)
    assert loss.ndim == 0 and torch.isfinite(loss)
    # an untrained model is close to uniform: loss near ln(vocab)
    assert abs(loss.item() - torch.log(torch.tensor(37.0)).item()) < 0.5


@pytest.mark.parametrize("kw", VARIANTS)
def test_future_tokens_never_change_past_logits(kw):
    m = make(**kw)
    x = torch.randint(0, 37, (2, 16))
    base, _ = m(x)
    for t in (0, 5, 15):
        y = x.clone()
        y[:, t:] = (y[:, t:] + 1 + torch.randint(0, 36, y[:, t:].shape)) % 37
        changed, _ = m(y)
        assert torch.allclose(base[:, :t], changed[:, :t], atol=1e-5)
        assert not torch.allclose(base[:, t], changed[:, t], atol=1e-5)


@pytest.mark.parametrize("kw", VARIANTS[:2])
def test_kv_cache_matches_full_forward(kw):
    m = make(**kw)
    x = torch.randint(0, 37, (2, 12))
    full, _ = m(x)
    cache = KVCache(m.config, 2, "cpu", torch.float32)
    parts = [m(x[:, :5], cache=cache)[0]]
    parts += [m(x[:, i : i + 1], cache=cache)[0] for i in range(5, 12)]
    assert torch.allclose(full, torch.cat(parts, 1), atol=1e-5)
    assert cache.pos == 12


def test_weight_tying_and_ignore_index():
    m = make()
    assert m.lm_head.weight.data_ptr() == m.wte.weight.data_ptr()
    untied = GPT(GPTConfig(vocab_size=37, block_size=16, n_layer=2, n_head=2, n_embd=24,
                           tie_weights=False))  # fmt: skip
    assert untied.num_params() == m.num_params() + 37 * 24
    x = torch.randint(0, 37, (1, 8))
    y = x.clone()
    y[:, :4] = -100
    _, loss_masked = m(x, y)
    logits, _ = m(x)
    want = torch.nn.functional.cross_entropy(logits[0, 4:], x[0, 4:])
    assert torch.allclose(loss_masked, want, atol=1e-6)


def test_too_long_sequence_is_refused():
    m = make()
    with pytest.raises(ValueError, match="block_size"):
        m(torch.zeros(1, 17, dtype=torch.long))
