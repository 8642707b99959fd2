"""forge.catalog: the model data file, name resolution, presets and local folders."""

from __future__ import annotations

import json

import pytest

from forge.catalog import all_models, count_params, find, preset, presets
from forge.chat.builtin import names as builtin_template_names
from forge.errors import ForgeError

# The template names forge ships (src/forge/chat/templates/families.yaml), not a copy of them.
CANONICAL_TEMPLATES = set(builtin_template_names())


def test_catalog_has_the_families_the_issue_names():
    models = all_models()
    primary = {m.id for m in models}
    assert len(primary) >= 30
    families = {m.family for m in models}
    for fam in [
        "llama-2", "llama-3", "llama-3.1", "llama-3.2", "llama-3.3", "mistral", "mixtral",
        "gemma", "gemma-2", "gemma-3", "qwen1.5", "qwen2", "qwen2.5", "qwen3", "phi-3",
        "phi-3.5", "phi-4", "smollm2", "tinyllama", "zephyr", "vicuna", "deepseek-v2",
        "deepseek-v3", "deepseek-r1", "deepseek-r1-distill", "olmo-2", "falcon3", "command-r",
        "gpt2",
    ]:  # fmt: skip
        assert fam in families, fam
    assert {"openai-community/gpt2", "openai-community/gpt2-medium"} <= primary
    assert {"openai-community/gpt2-large", "openai-community/gpt2-xl"} <= primary


def test_every_entry_is_complete_and_uses_canonical_template_names():
    ids = [m.id.lower() for m in all_models()]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for m in all_models():
        assert m.template is None or m.template in CANONICAL_TEMPLATES, (m.id, m.template)
        assert m.context_length >= 1024 and m.params > 0
        assert m.n_layers > 0 and m.hidden_size > 0 and m.vocab_size > 0
        assert m.n_heads % m.n_kv_heads == 0, m.id  # GQA groups must divide evenly
        assert "eos" in m.special_tokens, m.id
    assert find("gpt2").template is None


def test_published_param_counts_agree_with_the_shapes():
    """A typo in a shape number shows up as a parameter count that no longer matches."""
    checked = 0
    for m in all_models():
        if m.is_moe or m.architecture.endswith("ConditionalGeneration"):
            continue  # MoE routing / vision towers are not in the dense formula
        assert count_params(m) == pytest.approx(m.params, rel=0.01), m.id
        checked += 1
    assert checked >= 60


@pytest.mark.parametrize(
    ("name", "expected", "quant"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", None),
        ("META-LLAMA/llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct", None),
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", None),
        ("llama 3.1 8b instruct", "meta-llama/Llama-3.1-8B-Instruct", None),
        ("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", None),
        ("TheBloke/Mistral-7B-Instruct-v0.2-GPTQ", "mistralai/Mistral-7B-Instruct-v0.2", "gptq"),
        ("TheBloke/Llama-2-7B-Chat-GGUF", "meta-llama/Llama-2-7b-chat-hf", "gguf"),
        ("TheBloke/zephyr-7B-beta-AWQ", "HuggingFaceH4/zephyr-7b-beta", "awq"),
        ("unsloth/Llama-3.2-1B-Instruct-bnb-4bit", "meta-llama/Llama-3.2-1B-Instruct", "bnb-4bit"),
        ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "Qwen/Qwen2.5-7B-Instruct", "gptq-int4"),
        ("https://huggingface.co/google/gemma-2-9b-it", "google/gemma-2-9b-it", None),
        ("gpt2", "openai-community/gpt2", None),
        ("TheBloke/Llama-2-7B-Chat-GGUF/llama-2-7b-chat.Q4_K_M.gguf", None, None),
        ("llama-2-7b-chat.Q4_K_M.gguf", "meta-llama/Llama-2-7b-chat-hf", "q4_k_m"),
        ("gpt2 small", "gpt2-small", None),
        ("GPT2-XL", "openai-community/gpt2-xl", None),
    ],
)
def test_find_any_spelling(name, expected, quant):
    if expected is None:  # a path inside a repo is not a model id: no guessing
        with pytest.raises(ForgeError):
            find(name)
        return
    spec = find(name)
    assert spec.id == expected
    assert spec.quantization == quant


def test_templates_follow_the_model_version():
    assert find("mistralai/Mistral-7B-Instruct-v0.1").template == "mistral-v0.1"
    assert find("TheBloke/Mistral-7B-Instruct-v0.2-GPTQ").template == "mistral-v1"
    assert find("mistralai/Mistral-7B-Instruct-v0.3").template == "mistral-v0.3"
    assert find("meta-llama/Llama-3.3-70B-Instruct").template == "llama-3.1"
    assert find("google/gemma-2-2b-it").template == "gemma"
    assert find("google/gemma-3-1b-it").template == "gemma-3"
    assert find("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B").template == "deepseek-r1-distill"


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("meta-llama/Llama-3.1-8B-Instrukt", "meta-llama/Llama-3.1-8B-Instruct"),
        ("qwen2.5-7b-instruc", "Qwen/Qwen2.5-7B-Instruct"),
        ("mistral-7b-instruct", "mistralai/Mistral-7B-Instruct-v0.1"),
    ],
)
def test_unknown_names_get_a_ranked_did_you_mean(name, first):
    with pytest.raises(ForgeError) as e:
        find(name)
    assert "unknown model" in e.value.message
    assert e.value.hint.startswith(f"did you mean: {first}")


def test_never_a_silent_guess():
    for name in ["llama", "qwen3-9b", "mistralai/Mistral-Large-2407", "nothing-like-it"]:
        with pytest.raises(ForgeError):
            find(name)


def test_presets():
    names = [p.id for p in presets()]
    assert names[:3] == ["char-tiny", "char-small", "gpt2-small"]
    tiny = find("char-tiny")
    assert (tiny.n_layers, tiny.n_heads, tiny.hidden_size, tiny.context_length) == (4, 4, 128, 64)
    assert tiny.template is None and tiny.preset["model"]["vocab"] == "char"
    small = preset("char-small")
    assert small["model"]["dropout"] == 0.2 and small["model"]["block_size"] == 256
    g = find("gpt2-small")
    assert g.vocab_size == 50257 and g.n_layers == 12 and g.hidden_size == 768
    # nanoGPT's GPT-2 small: 124M parameters with tied embeddings
    assert g.params == pytest.approx(124e6, rel=0.01)
    with pytest.raises(ForgeError):
        preset("gpt2")


def _write_folder(path, config, tok=None):
    path.mkdir(parents=True)
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))
    if tok is not None:
        (path / "tokenizer_config.json").write_text(json.dumps(tok))
    return path


QWEN_05B_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "num_hidden_layers": 24,
    "hidden_size": 896,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "intermediate_size": 4864,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": True,
}


def test_local_folder_copy_of_a_catalog_model(tmp_path):
    folder = _write_folder(
        tmp_path / "Qwen2.5-0.5B-Instruct",
        QWEN_05B_CONFIG,
        {"eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"}},
    )
    spec = find(str(folder))
    assert spec.path == str(folder.resolve())
    assert spec.family == "qwen2.5" and spec.template == "qwen2.5"
    assert spec.special_tokens == {"eos": "<|im_end|>", "pad": "<|endoftext|>"}
    assert spec.n_kv_heads == 2 and spec.params == 494032768


def test_local_folder_unknown_model_with_its_own_template(tmp_path):
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_layer": 2,
        "n_embd": 64,
        "n_head": 2,
        "vocab_size": 300,
        "n_positions": 128,
    }
    tok = {
        "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
        "eos_token": "</s>",
    }
    spec = find(str(_write_folder(tmp_path / "tiny", cfg, tok)))
    assert spec.template is None  # forge.chat uses the folder's own template
    assert spec.extra["has_chat_template"] is True
    assert (spec.n_layers, spec.hidden_size, spec.intermediate_size) == (2, 64, 256)
    assert spec.context_length == 128 and spec.params > 0
    # a folder holding only a tokenizer_config.json with a chat template is still found
    only_tok = find(str(_write_folder(tmp_path / "tok-only", None, tok)))
    assert only_tok.extra["has_chat_template"] and only_tok.special_tokens["eos"] == "</s>"


def test_local_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ForgeError, match="not a model folder"):
        find(str(tmp_path / "empty"))
    with pytest.raises(ForgeError, match="does not exist"):
        find(str(tmp_path / "missing"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{\n  'num_hidden_layers': 2\n}")
    with pytest.raises(ForgeError, match=r"config.json:2: invalid JSON"):
        find(str(bad))


def test_every_catalog_template_is_a_builtin_chat_template():
    """forge.chat resolves each catalog model (name + family, as `forge plan` writes them) to
    the template the catalog names."""
    from forge.chat import resolve_template
    from forge.config.model import ModelConfig

    for m in all_models():
        if m.template is not None:
            assert resolve_template(ModelConfig(name=m.id, family=m.family)).name == m.template
