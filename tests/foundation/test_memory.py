"""The memory estimator against published figures and its own invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.catalog import find
from forge.catalog.memory import (
    GIB,
    activation_bytes_per_token,
    attention_matrix_bytes,
    bytes_per_param_states,
    estimate,
    lora_params,
)
from forge.catalog.spec import ModelSpec, count_params

GB = 1e9


@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_full_finetune_adamw_is_16_bytes_per_param(precision):
    # ZeRO sec. 3.1: mixed-precision Adam = 2 (weights) + 2 (grads) + 12 (fp32 copy, m, v);
    # plain fp32: 4 + 4 + 8. Either way 16 bytes per parameter before activations.
    spec = find("meta-llama/Llama-3.1-8B-Instruct")
    e = estimate(spec, "full", 1, 512, precision=precision)
    assert (e.weights + e.gradients + e.optimizer) / spec.params == pytest.approx(16, abs=1e-6)
    assert bytes_per_param_states("full", precision) == 16
    assert bytes_per_param_states("scratch", precision, "adamw8bit") == 10


def test_zero_paper_gpt2_xl_needs_at_least_24_gb():
    # ZeRO: "a GPT-2 model with 1.5B parameters ... requires at least 24 GB" of model states.
    e = estimate(find("gpt2-xl"), "full", 1, 1024)
    assert e.weights + e.gradients + e.optimizer >= 24 * GB
    assert e.total > 24 * GB


def test_seven_b_lora_in_bf16_needs_over_14_gb_for_weights():
    e = estimate(find("mistralai/Mistral-7B-Instruct-v0.3"), "lora", 1, 512)
    assert e.weights > 14 * GB
    assert e.trainable_params < 0.01 * find("mistralai/Mistral-7B-Instruct-v0.3").params


def test_qlora_weights_are_half_a_byte_per_param_plus_adapters():
    spec = find("meta-llama/Llama-2-7b-hf")
    e = estimate(spec, "qlora", 1, 512, gradient_checkpointing=True)
    base = e.weights - 4 * e.trainable_params  # adapters are fp32
    emb = spec.vocab_size * spec.hidden_size * 2  # embeddings + head stay 16-bit
    assert (base - emb * 2) / (spec.params - emb) == pytest.approx(0.516, abs=0.001)
    # QLoRA paper: a 7B model's 4-bit footprint is about 5 GB
    assert 3.3 * GB < base < 5 * GB


def test_qlora_65b_class_fits_one_48gb_gpu_but_lora_does_not():
    # QLoRA: finetuning a 65B model on a single 48 GB GPU.
    spec = find("meta-llama/Llama-2-70b-hf")
    q = estimate(spec, "qlora", 1, 512, gradient_checkpointing=True)
    lo = estimate(spec, "lora", 1, 512, gradient_checkpointing=True)
    assert q.total < 48 * GB < lo.total


def test_lora_paper_trainable_params():
    # r=8 on q and v of LLaMA-7B: 32 layers x 2 x 8 x (4096 + 4096) = 4,194,304 (what peft prints)
    assert lora_params(find("meta-llama/Llama-2-7b-hf"), 8, "q_proj,v_proj") == 4_194_304
    # all linear layers at r=16: 7 matrices per layer
    spec = find("meta-llama/Llama-2-7b-hf")
    h, i = spec.hidden_size, spec.intermediate_size
    per_layer = 16 * (4 * 2 * h + 3 * (h + i))
    assert lora_params(spec, 16) == 32 * per_layer


def test_activations_match_korthikanti_for_gpt_shapes():
    # Korthikanti et al. 2022: s*b*h*(34 + 5*a*s/h) bytes per layer, 16-bit, no recompute.
    spec = find("gpt2-medium")
    h, a, s = spec.hidden_size, spec.n_heads, 1024
    assert activation_bytes_per_token(spec, 2, dropout=True) == 34 * h
    assert attention_matrix_bytes(spec, s, dropout=True) == 5 * a * s * s
    per_layer = s * h * (34 + 5 * a * s / h)
    no_flash = estimate(spec, "full", 1, s, flash_attention=False, dropout=True)
    flash = estimate(spec, "full", 1, s, dropout=True)
    assert no_flash.activations - flash.activations == pytest.approx(
        spec.n_layers * (per_layer - 34 * s * h)
    )


def test_gradient_checkpointing_saves_activation_memory():
    spec = find("Qwen/Qwen2.5-7B-Instruct")
    a = estimate(spec, "lora", 4, 2048)
    b = estimate(spec, "lora", 4, 2048, gradient_checkpointing=True)
    assert b.activations < a.activations / 3
    assert b.weights == a.weights


def test_breakdown_adds_up():
    e = estimate(find("Qwen/Qwen3-4B"), "lora", 2, 1024)
    g = e.breakdown_gib()
    parts = g["weights"] + g["gradients"] + g["optimizer"] + g["activations"] + g["overhead"]
    assert g["total"] == pytest.approx(parts, abs=0.05)
    assert e.total_gib == pytest.approx(e.total / GIB)


def _consistent(spec: ModelSpec) -> ModelSpec:
    return replace(spec, params=count_params(spec))


shapes = st.builds(
    lambda layers, heads, group, hd, vocab, mult: _consistent(
        ModelSpec(
            id="x",
            family="x",
            template=None,
            context_length=4096,
            params=0,
            architecture="LlamaForCausalLM",
            special_tokens={},
            n_layers=layers,
            hidden_size=heads * hd,
            n_heads=heads,
            n_kv_heads=heads // group,
            vocab_size=vocab,
            intermediate_size=mult * heads * hd,
        )
    ),
    st.integers(1, 48),
    st.sampled_from([4, 8, 16, 32]),
    st.sampled_from([1, 2, 4]),
    st.sampled_from([32, 64, 128]),
    st.integers(256, 200_000),
    st.integers(2, 4),
)


@settings(max_examples=60, deadline=None)
@given(
    shapes,
    st.sampled_from(["full", "lora", "qlora", "scratch"]),
    st.integers(1, 16),
    st.sampled_from([128, 512, 2048]),
)
def test_more_batch_or_sequence_never_needs_less(spec, method, batch, seq):
    e = estimate(spec, method, batch, seq)
    assert estimate(spec, method, batch + 1, seq).total > e.total
    assert estimate(spec, method, batch, seq * 2).total > e.total
    assert estimate(spec, method, batch, seq, gradient_checkpointing=True).total <= e.total
    if method == "full":
        assert e.total > estimate(spec, "lora", batch, seq).total
        assert estimate(spec, "lora", batch, seq).total > estimate(spec, "qlora", batch, seq).total
