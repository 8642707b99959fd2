"""`ChatTokenizer`: a Rust `tokenizers.Tokenizer` plus the special tokens chat templates need."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash
from tokenizers import Tokenizer

from forge.chat.model_folder import folder_special_tokens
from forge.errors import ForgeError

# When a bare tokenizer.json does not say which of its special tokens are bos and eos.
_BOS_NAMES = (
    "<|begin_of_text|>",
    "<s>",
    "<bos>",
    "<BOS_TOKEN>",
    "<｜begin▁of▁sentence｜>",
    "<|startoftext|>",
)
_EOS_NAMES = (
    "<|eot_id|>",
    "<|im_end|>",
    "</s>",
    "<eos>",
    "<|END_OF_TURN_TOKEN|>",
    "<｜end▁of▁sentence｜>",
    "<|end_of_text|>",
    "<|endoftext|>",
)


@dataclass(eq=False)
class ChatTokenizer:
    tokenizer: Tokenizer
    hash: str
    special_tokens: dict[str, str] = field(default_factory=dict)
    """bos_token, eos_token, ... (the names chat templates use)."""
    path: str | None = None

    def __post_init__(self) -> None:
        for key in ("bos_token", "eos_token"):
            tok = self.special_tokens.get(key)
            if tok is not None and self.tokenizer.token_to_id(tok) is None:
                raise ForgeError(
                    f"tokenizer {self.path}: its {key} {tok!r} is not in the vocabulary",
                    "fix tokenizer_config.json, or set model.special_tokens in forge.yaml",
                )
        self.adds_bos = self._post_processor_adds_bos()

    def byte_lengths(self) -> Any:
        """Bytes per token id when encodings tile their text's bytes (byte-level BPE), else
        None (forge.chat.bytetiles); worked out once."""
        if not hasattr(self, "_byte_lengths"):
            from forge.chat.bytetiles import byte_lengths

            self._byte_lengths = byte_lengths(self.tokenizer)
        return self._byte_lengths

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def bos_token(self) -> str | None:
        return self.special_tokens.get("bos_token")

    @property
    def eos_token(self) -> str | None:
        return self.special_tokens.get("eos_token")

    @property
    def bos_id(self) -> int | None:
        return self.tokenizer.token_to_id(self.bos_token) if self.bos_token else None

    @property
    def eos_id(self) -> int | None:
        return self.tokenizer.token_to_id(self.eos_token) if self.eos_token else None

    def _post_processor_adds_bos(self) -> bool:
        """Whether encoding with special tokens puts a bos in front (e.g. Llama's tokenizer.json).
        Chat templates write their own bos, so forge encodes their text without it."""
        bos = self.bos_id
        if bos is None:
            return False
        ids = self.tokenizer.encode("a", add_special_tokens=True).ids
        return bool(ids) and ids[0] == bos

    def __repr__(self) -> str:
        return f"ChatTokenizer(path={self.path!r}, vocab_size={self.vocab_size}, hash={self.hash})"


def _guess_specials(tok: Tokenizer) -> dict[str, str]:
    added = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    out: dict[str, str] = {}
    for key, names in (("bos_token", _BOS_NAMES), ("eos_token", _EOS_NAMES)):
        for name in names:
            if name in added:
                out[key] = name
                break
    return out


def read_tokenizer(spec: str | Path) -> tuple[Tokenizer, Path, bytes]:
    """The `tokenizers.Tokenizer` in a tokenizer.json file or a folder holding one, with the
    file's path and bytes; a ForgeError when there is none or it does not parse."""
    path = Path(spec).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ForgeError(
            f"no tokenizer at {spec}: expected a tokenizer.json file or a folder holding one",
            "give a model folder or the tokenizer.json forge trained (model.tokenizer in forge.yaml)",
        )
    try:
        data = file.read_bytes()
        tok = Tokenizer.from_str(data.decode("utf-8"))
    except OSError as e:
        raise ForgeError(f"cannot read tokenizer {file}: {e.strerror}", "check the file") from None
    except Exception as e:  # not UTF-8, or the Rust side's parse errors (plain Exceptions)
        raise ForgeError(
            f"cannot load tokenizer {file}: {e}", "check that it is a tokenizers JSON file"
        ) from None
    return tok, file, data


def load_tokenizer(spec: str | Path, special_tokens: dict[str, str] | None = None) -> ChatTokenizer:
    """A model folder (tokenizer.json + tokenizer_config.json) or a tokenizer.json file.

    `special_tokens` ({"bos": "<s>", "eos": "</s>"} or {"bos_token": ...}) overrides what the
    files say, e.g. from forge.yaml's `model.special_tokens`.
    """
    tok, file, data = read_tokenizer(spec)
    folder = file.parent
    specials = _guess_specials(tok)
    specials.update(folder_special_tokens(folder))
    for key, value in (special_tokens or {}).items():
        specials[key if key.endswith("_token") else f"{key}_token"] = value
    return ChatTokenizer(
        tokenizer=tok, hash=xxhash.xxh64_hexdigest(data), special_tokens=specials, path=str(file)
    )
