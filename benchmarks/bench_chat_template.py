"""Render + tokenize + mask 50k conversations: forge against transformers, and the floor.

    PYTHONPATH=src python benchmarks/bench_chat_template.py [--n 50000] [--template qwen2.5]

Conversations come from ../shared/data/chat (alpaca_5000.json as single turns and
dummy_conversation.json as multi-turn ShareGPT), repeated with a varying suffix up to --n.
The tokenizer is a byte-level BPE trained here on a sample (no download); transformers gets
it wrapped in PreTrainedTokenizerFast with the same chat template.

- transformers: `apply_chat_template(batch, tokenize=True)` in batches of 1000 (no masks).
- forge: `encode_conversations` (render, batch tokenize, and the loss mask).
- floor: the tokenizer's `encode_batch` on the already-rendered texts, plus reading the ids.
Goal: forge >= 1.5x faster than transformers and within 1.3x of the floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

from forge.chat import Conversation, Message, encode_conversations, get_template  # noqa: E402
from forge.chat.tokenizer import ChatTokenizer  # noqa: E402


def load_conversations(data: Path, n: int) -> list[Conversation]:
    base: list[list[tuple[str, str]]] = []
    for row in json.loads((data / "alpaca_5000.json").read_text(encoding="utf-8")):
        prompt = row["instruction"] + ("\n\n" + row["input"] if row.get("input") else "")
        base.append([("user", prompt), ("assistant", row["output"])])
    roles = {"human": "user", "gpt": "assistant"}
    for row in json.loads((data / "dummy_conversation.json").read_text(encoding="utf-8")):
        base.append([(roles[t["from"]], t["value"]) for t in row["conversations"]])
    out = []
    for k in range(n):
        turns = base[k % len(base)]
        copy = k // len(base)
        msgs = [Message(r, c + (f" (#{copy})" if copy and r == "user" else "")) for r, c in turns]
        if copy % 3 == 1:
            msgs.insert(0, Message("system", "You are a helpful assistant."))
        out.append(Conversation(msgs))
    return out


def train_tokenizer(texts: list[str], specials: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=8000,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--template", default="qwen2.5")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "chat")
    args = ap.parse_args()

    from transformers import PreTrainedTokenizerFast

    convs = load_conversations(args.data, args.n)
    template = get_template(args.template)
    fam = template.family
    specials = [s for s in dict.fromkeys([fam.bos, fam.eos, *fam.end_of_turn, "<|im_start|>"]) if s]
    sample = [template.render(c) for c in convs[:3000]]
    tok = train_tokenizer(sample, specials)
    chat_tok = ChatTokenizer(tok, hash="bench", special_tokens=dict(template.special_tokens))
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, **template.special_tokens)
    hf.chat_template = template.source_text
    dicts = [c.to_dicts() for c in convs]
    n_msgs = sum(len(d) for d in dicts)
    print(
        f"{len(convs)} conversations, {n_msgs} messages, template {args.template}, vocab {tok.get_vocab_size()}"
    )

    def run_hf():
        ids = []
        for k in range(0, len(dicts), 1000):
            ids.extend(
                hf.apply_chat_template(dicts[k : k + 1000], tokenize=True, return_dict=False)
            )
        return ids

    def run_forge():
        return encode_conversations(template, chat_tok, convs)

    t_forge, rows = timed(run_forge, args.repeat)
    texts = [r.text for r in rows]

    def run_floor():
        return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]

    t_floor, floor_ids = timed(run_floor, args.repeat)
    t_hf, hf_ids = timed(run_hf, args.repeat)

    same = sum(r.input_ids == list(h) for r, h in zip(rows, hf_ids, strict=True))
    n_tok = sum(len(r.input_ids) for r in rows)
    trained = sum(len(r.labels) - r.labels.count(-100) for r in rows)
    print(f"identical token ids to transformers: {same}/{len(rows)}")
    print(f"tokens: {n_tok} ({trained} trained, {trained / n_tok:.1%})")
    for name, t in (
        ("transformers apply_chat_template", t_hf),
        ("forge encode_conversations", t_forge),
        ("floor encode_batch", t_floor),
    ):
        print(f"{name:34s} {t:7.2f} s  {len(convs) / t:9.0f} conv/s")
    print(f"forge vs transformers: {t_hf / t_forge:.2f}x faster (goal >= 1.5x)")
    print(f"forge vs floor: {t_forge / t_floor:.2f}x the floor's time (goal <= 1.3x)")


if __name__ == "__main__":
    main()
