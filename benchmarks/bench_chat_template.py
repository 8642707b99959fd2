"""Render + tokenize + mask 50k conversations: forge against transformers, and the floor.

    PYTHONPATH=src python benchmarks/bench_chat_template.py [--n 50000] [--template qwen2.5]

Conversations come from ../shared/data/chat (alpaca_5000.json as single turns and
dummy_conversation.json as multi-turn ShareGPT), repeated with a varying suffix up to --n.
The tokenizer is a byte-level BPE trained here on a sample (no download); transformers gets
it wrapped in PreTrainedTokenizerFast with the same chat template.

- transformers: `apply_chat_template(..., tokenize=True)` (no masks), one conversation a call
  (as in a `datasets.map` over rows) and in batches of 1000 (its fastest use).
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


def rounds(fns: dict, repeat: int) -> dict:
    """Best wall and CPU seconds of each function over `repeat` rounds. Each round runs every
    function once, in a rotated order, so a change in the machine's load hits all of them."""
    names = list(fns)
    best = {n: [float("inf"), float("inf"), None] for n in names}
    for r in range(repeat):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            w0, c0 = time.perf_counter(), time.process_time()
            out = fns[n]()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            b = best[n]
            b[0], b[1], b[2] = min(b[0], wall), min(b[1], cpu), out
    return best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--template", default="qwen2.5")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the best of each is kept")
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

    def run_hf_each():
        return [hf.apply_chat_template(d, tokenize=True, return_dict=False) for d in dicts]

    def run_forge():
        return encode_conversations(template, chat_tok, convs)

    texts = [r.text for r in run_forge()]

    def run_floor():
        return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]

    fns = {
        "transformers": run_hf,
        "transformers-each": run_hf_each,
        "forge": run_forge,
        "floor": run_floor,
    }
    best = rounds(fns, args.repeat)
    rows, hf_ids = best["forge"][2], best["transformers"][2]
    same = sum(r.input_ids == list(h) for r, h in zip(rows, hf_ids, strict=True))
    n_tok = sum(len(r.input_ids) for r in rows)
    trained = sum(len(r.labels) - r.labels.count(-100) for r in rows)
    print(f"identical token ids to transformers: {same}/{len(rows)}")
    print(f"tokens: {n_tok} ({trained} trained, {trained / n_tok:.1%})")
    labels = {
        "transformers": "transformers, batches of 1000",
        "transformers-each": "transformers, one conversation a call",
        "forge": "forge encode_conversations",
        "floor": "floor encode_batch",
    }
    for key, label in labels.items():
        wall, cpu, _ = best[key]
        print(f"{label:38s} {wall:7.2f} s wall {cpu:7.2f} s cpu  {len(convs) / wall:9.0f} conv/s")
    t_hf, t_forge, t_floor = (best[k][0] for k in ("transformers", "forge", "floor"))
    c_hf, c_forge, c_floor = (best[k][1] for k in ("transformers", "forge", "floor"))
    import resource

    print(
        f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    c_each, t_each = best["transformers-each"][1], best["transformers-each"][0]
    print(
        f"cpu time: forge {c_hf / c_forge:.2f}x less than transformers in batches, "
        f"{c_each / c_forge:.2f}x less than one a call; {c_forge / c_floor:.2f}x the floor's"
    )
    print(
        f"forge vs transformers one conversation a call: {t_each / t_forge:.2f}x faster (goal >= 1.5x)"
    )
    print(f"forge vs transformers in batches of 1000: {t_hf / t_forge:.2f}x faster (goal >= 1.5x)")
    print(f"forge vs floor: {t_forge / t_floor:.2f}x the floor's time (goal <= 1.3x)")


if __name__ == "__main__":
    main()
