"""Tokenizers for the chat tests: byte-level BPE models trained here, offline, in a second.

One per family, each with that family's special tokens, trained on a small mixed-language
corpus so that ordinary text splits into many tokens (span edges fall inside words).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from forge.chat import builtin
from forge.chat.battery import TEXTS
from forge.chat.tokenizer import ChatTokenizer

CORPUS = [
    *TEXTS,
    "The quick brown fox jumps over the lazy dog.",
    "User: hello\nAssistant: hi! How can I help you today?",
    "Die Katze schläft auf dem Sofa. Le chat dort sur le canapé. 猫在沙发上睡觉。",
    "def add(a, b):\n    return a + b\n",
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',
]


def train_bpe(
    specials: list[str], vocab_size: int = 400, bos_added: str | None = None
) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    if bos_added:
        # like Llama's tokenizer.json: encoding with special tokens puts bos in front
        bos_id = tok.token_to_id(bos_added)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos_added} $A",
            pair=f"{bos_added} $A $B",
            special_tokens=[(bos_added, bos_id)],
        )
    return tok


def family_specials(name: str) -> list[str]:
    fam = builtin.FAMILIES[name]
    source = builtin.source(name)
    extra = [t for t in _TEMPLATE_TOKENS if t in source]
    return list(dict.fromkeys([s for s in (fam.bos, fam.eos, *fam.end_of_turn) if s] + extra))


# special-looking tokens templates write; each family's tokenizer gets those its template uses
_TEMPLATE_TOKENS = (
    "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eot_id|>", "<|eom_id|>", "<|python_tag|>", "<start_of_turn>", "<end_of_turn>",
    "<|user|>", "<|assistant|>", "<|system|>", "<|end|>", "<|START_OF_TURN_TOKEN|>",
    "<|END_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>", "<|SYSTEM_TOKEN|>",
    "<｜User｜>", "<｜Assistant｜>", "[INST]", "[/INST]", "<start_of_image>",
)  # fmt: skip


@pytest.fixture(scope="session")
def family_tokenizer():
    """family name -> ChatTokenizer trained for it (cached for the session)."""
    cache: dict[str, ChatTokenizer] = {}

    def get(name: str) -> ChatTokenizer:
        if name not in cache:
            fam = builtin.FAMILIES[name]
            tok = train_bpe(family_specials(name))
            specials = {}
            if fam.bos:
                specials["bos_token"] = fam.bos
            if fam.eos:
                specials["eos_token"] = fam.eos
            cache[name] = ChatTokenizer(tok, hash=name, special_tokens=specials, path=f"<{name}>")
        return cache[name]

    return get


@pytest.fixture(scope="session")
def reference_dir(shared_reference: Path) -> Path:
    d = shared_reference / "chat_templates"
    if not d.is_dir():
        pytest.skip("reference chat templates not found")
    return d
