"""Training data: token shards (docs/prepared-data.md) read through np.memmap.

Two sources, one interface (``TokenData``):
- a prepared dataset folder (``data/<name>/`` with ``tokens/<split>/index.json``), written by
  `forge prepare`;
- a plain text file, tokenized once and cached as shards in the same format.

Batches are random windows. The window offsets for step ``s`` on rank ``r`` come from a
generator seeded with ``(seed, split, step)``: the sampler's whole state is the
step counter, so a resumed run draws exactly the batches an uninterrupted run would have,
replaying and skipping nothing, without reading through the data to get there.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import torch
import xxhash
from tokenizers import Tokenizer

from forge.errors import ForgeError
from forge.registry import register
from forge.train.tokenizer import encode_text, eot_id, tokenizer_hash

SPLITS = ("train", "validation")
_SPLIT_CODE = {"train": 0, "validation": 1, "test": 2}


class Shards:
    """One split's token shards, memory-mapped; windows never cross a shard boundary."""

    def __init__(self, folder: Path):
        index_path = folder / "index.json"
        try:
            index = orjson.loads(index_path.read_bytes())
        except FileNotFoundError as e:
            raise ForgeError(
                f"{index_path}: missing", "run `forge prepare` or point to a text file"
            ) from e
        self.folder = folder
        self.dtype = np.dtype(index["dtype"])
        self.vocab_size = int(index["vocab_size"])
        self.eot_id = index.get("eot_id")
        self.arrays = [
            np.memmap(folder / s["file"], dtype=self.dtype, mode="r")
            for s in index["shards"]
            if s["tokens"] > 0
        ]
        self.tokens = sum(len(a) for a in self.arrays)

    def split_tail(self, fraction: float) -> tuple[Shards, Shards]:
        """(head, tail): the last ``fraction`` of the tokens as a second view of the same
        files, taken from the end of each shard in proportion (a contiguous hold-out, as
        nanoGPT does for one text file), so no window of the head overlaps the tail."""
        head, tail = copy.copy(self), copy.copy(self)
        head.arrays, tail.arrays = [], []
        for a in self.arrays:
            cut = len(a) - int(round(len(a) * fraction))
            head.arrays.append(a[:cut])
            tail.arrays.append(a[cut:])
        head.tokens = sum(len(a) for a in head.arrays)
        tail.tokens = sum(len(a) for a in tail.arrays)
        return head, tail

    def valid_starts(self, block: int) -> np.ndarray:
        """Number of window start positions in each shard for windows of ``block + 1``."""
        return np.array([max(0, len(a) - block - 1) for a in self.arrays], dtype=np.int64)

    def windows(
        self, rng: np.random.Generator, batch: int, block: int, part: slice = slice(None)
    ) -> np.ndarray:
        """Rows ``part`` of ``batch`` random windows of ``block + 1`` tokens (int64)."""
        counts = self.valid_starts(block)
        total = int(counts.sum())
        if total <= 0:
            raise ForgeError(
                f"{self.folder}: {self.tokens} tokens is too few for block_size {block}",
                "use more data or a smaller training.gpt.block_size",
            )
        starts = rng.integers(0, total, size=batch)[part]
        bounds = np.cumsum(counts)
        which = np.searchsorted(bounds, starts, side="right")
        offsets = starts - (bounds[which] - counts[which])
        ar = np.arange(block + 1)
        out = np.empty((len(starts), block + 1), dtype=np.int64)
        for i, (w, o) in enumerate(zip(which, offsets, strict=True)):
            out[i] = self.arrays[w][o + ar]
        return out


@dataclass
class TokenData:
    """Train and validation token shards plus the tokenizer they were made with."""

    train: Shards
    validation: Shards
    tokenizer: Tokenizer
    source: str
    bytes_per_token: float  # for bits per byte: loss / ln 2 / bytes_per_token
    note: str | None = None  # said when training starts (e.g. a validation split was made)

    def check_block(self, block: int) -> None:
        """Both splits hold at least one window of ``block + 1`` tokens: said before training
        starts rather than at the first evaluation."""
        for name, part in (("train", self.train), ("validation", self.validation)):
            if int(part.valid_starts(block).sum()) <= 0:
                raise ForgeError(
                    f"{self.source}: the {name} split has {part.tokens:,} tokens, too few for "
                    f"block_size {block} (it needs at least {block + 2})",
                    "use more data, a larger validation share (training.val_fraction, or "
                    "preprocessing.split when preparing), or a smaller training.gpt.block_size",
                )

    def batch(
        self,
        split: str,
        seed: int,
        step: int,
        batch: int,
        block: int,
        micro: int = 0,
        rank: int = 0,
        world: int = 1,
        accum: int = 1,
        device: str | torch.device = "cpu",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and next-token targets (B, T) for one micro-batch, a pure function of its
        arguments. Step ``step``'s global batch of ``batch * world * accum`` windows is drawn
        the same way whatever the split into micro-batches and ranks; micro-batch ``m`` of
        rank ``r`` takes its rows ``(m * world + r) * batch`` onwards. So N processes, or
        gradient accumulation, see exactly the examples one process would at the same global
        batch."""
        rng = np.random.default_rng([seed, _SPLIT_CODE[split], step])
        shards = self.train if split == "train" else self.validation
        start = (micro * world + rank) * batch
        w = torch.from_numpy(
            shards.windows(rng, batch * world * accum, block, slice(start, start + batch))
        )
        x, y = w[:, :-1], w[:, 1:]
        if str(device).startswith("cuda"):
            return (
                x.pin_memory().to(device, non_blocking=True),
                y.pin_memory().to(device, non_blocking=True),
            )
        return x.contiguous().to(device), y.contiguous().to(device)


def write_shards(
    ids: np.ndarray, folder: Path, vocab_size: int, eot: int, documents: int = 1
) -> None:
    """Write one split as token shards (the prepared-data format), atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    dtype = "uint16" if vocab_size <= 65535 else "uint32"
    tmp = folder / "shard-00000.bin.tmp"
    np.asarray(ids, dtype=dtype).tofile(tmp)
    os.replace(tmp, folder / "shard-00000.bin")
    index = {
        "dtype": dtype,
        "vocab_size": vocab_size,
        "eot_id": eot,
        "shards": [{"file": "shard-00000.bin", "tokens": int(len(ids)), "documents": documents}],
    }
    (folder / "index.json.tmp").write_bytes(orjson.dumps(index, option=orjson.OPT_INDENT_2))
    os.replace(folder / "index.json.tmp", folder / "index.json")


def _file_hash(path: Path) -> str:
    h = xxhash.xxh64()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@register("data_source", "text")
def text_source(
    path: str | Path, tokenizer: Tokenizer, val_fraction: float, cache_dir: str | Path
) -> TokenData:
    """A plain text file: the first ``1 - val_fraction`` of its tokens train, the rest
    validate (a contiguous split, like nanoGPT's). Tokenized once; cached by content hash."""
    path = Path(path)
    if not path.is_file():
        raise ForgeError(f"{path}: no such file", "pass a text file or a prepared dataset folder")
    key = xxhash.xxh64(
        f"{_file_hash(path)}:{tokenizer_hash(tokenizer)}:{val_fraction}".encode()
    ).hexdigest()
    folder = Path(cache_dir) / key
    n_bytes = path.stat().st_size
    if not (folder / "validation" / "index.json").is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ForgeError(
                f"{path}: not UTF-8 text (byte {e.start})", "convert the file to UTF-8"
            ) from e
        ids = np.asarray(encode_text(tokenizer, text), dtype=np.int64)
        n_val = int(round(len(ids) * val_fraction))
        if n_val <= 0 or n_val >= len(ids):
            raise ForgeError(
                f"{path}: cannot split {len(ids)} tokens with validation fraction {val_fraction}",
                "set training.val_fraction between 0 and 1 and use more text",
            )
        eot, vocab = eot_id(tokenizer), tokenizer.get_vocab_size()
        write_shards(ids[: len(ids) - n_val], folder / "train", vocab, eot)
        write_shards(ids[len(ids) - n_val :], folder / "validation", vocab, eot)
    train, val = Shards(folder / "train"), Shards(folder / "validation")
    return TokenData(train, val, tokenizer, str(path), n_bytes / max(1, train.tokens + val.tokens))


@register("data_source", "prepared")
def prepared_source(
    folder: str | Path, tokenizer: Tokenizer | None, val_fraction: float = 0.1, *_: object
) -> TokenData:
    """A dataset folder written by `forge prepare` (tokens/train, tokens/validation)."""
    from forge.train.tokenizer import load_tokenizer

    folder = Path(folder)
    if not (folder / "manifest.json").is_file() and not (folder / "tokens").is_dir():
        raise ForgeError(
            f"{folder}: a folder, but not prepared data (no manifest.json or tokens/)",
            "pass a text file, or a folder written by `forge prepare`",
        )
    tok_path = folder / "tokenizer" / "tokenizer.json"
    data_tok = load_tokenizer(tok_path) if tok_path.is_file() else None
    if (
        tokenizer is not None
        and data_tok is not None
        and tokenizer_hash(tokenizer) != tokenizer_hash(data_tok)
    ):
        raise ForgeError(
            f"{folder}: prepared with another tokenizer than the one configured",
            "prepare the data again with this tokenizer, or unset model.tokenizer",
        )
    tok = data_tok or tokenizer
    if tok is None:
        raise ForgeError(
            f"{tok_path}: missing, and no tokenizer configured",
            "set model.tokenizer to the tokenizer the data was prepared with",
        )
    train = Shards(folder / "tokens" / "train")
    val_dir = folder / "tokens" / "validation"
    note = None
    val = Shards(val_dir) if (val_dir / "index.json").is_file() else None
    if val is None or val.tokens == 0:
        # Too few documents for a validation split (one book, a handful of files): hold out
        # the end of the training tokens instead, like a single text file.
        if not 0 < val_fraction < 1:
            raise ForgeError(
                f"{val_dir}: no validation tokens, and training.val_fraction is {val_fraction}",
                "prepare with a validation split (preprocessing.split), or set "
                "training.val_fraction between 0 and 1 to hold out the end of the train split",
            )
        train, val = train.split_tail(val_fraction)
        note = (
            f"{folder}: the prepared data has no validation tokens; the last "
            f"{val_fraction:.0%} of the train split ({val.tokens:,} tokens) is held out instead"
        )
    if train.vocab_size > tok.get_vocab_size():
        raise ForgeError(
            f"{folder}: shards have vocab {train.vocab_size}, tokenizer {tok.get_vocab_size()}",
            "prepare the data again with this tokenizer",
        )
    return TokenData(train, val, tok, str(folder), _bytes_per_token(val, tok), note)


def _bytes_per_token(shards: Shards, tok: Tokenizer, sample: int = 1 << 20) -> float:
    """Bytes of text per token, measured by decoding up to ``sample`` validation tokens."""
    ids = np.asarray(shards.arrays[0][:sample]).tolist() if shards.arrays else []
    if not ids:
        return 1.0
    return len(tok.decode(ids, skip_special_tokens=True).encode("utf-8")) / len(ids)


def open_data(
    path: str | Path,
    tokenizer: Tokenizer | None,
    val_fraction: float,
    cache_dir: str | Path,
    source: str = "auto",
) -> TokenData:
    """Data through the registry's ``data_source`` named ``source``; ``auto``: a prepared
    dataset folder or a text file (for a text file a tokenizer is required). Every source is
    called as ``source(path, tokenizer, val_fraction, cache_dir)``."""
    from forge.registry import get

    p = Path(path)
    if source != "auto":
        return get("data_source", source)(p, tokenizer, val_fraction, cache_dir)
    if p.is_dir():
        return prepared_source(p, tokenizer, val_fraction)
    if tokenizer is None:
        raise ForgeError("a text file needs a tokenizer", "set model.tokenizer (e.g. char)")
    return text_source(p, tokenizer, val_fraction, cache_dir)
