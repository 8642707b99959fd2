"""Benchmark `forge prepare` against a Hugging Face datasets pipeline, and its memory.

    python benchmarks/bench_prepare.py speed  [--rows 200000] [--workers 2] [--repeat 3]
    python benchmarks/bench_prepare.py rss    [--small 50000] [--large 2000000]
    python benchmarks/bench_prepare.py memlimit [--rows 200000] [--extra 6000] [--limit-mb 900]

speed: the same conversations (JSONL, built by repeating and varying the chat files in
../shared/data) and the same tokenizer (a byte-level BPE trained here, in a model folder with
a chatml template). forge prepare does the whole job (read, detect, clean, filter, dedup,
split, template, tokenize, labels, Parquet per split); the peer does less: load_dataset json,
map(apply_chat_template + tokenizer, num_proc=workers), to_parquet, without labels. Both run
as fresh processes (HF with an empty cache); wall time end to end, the median of --repeat rounds
(each round runs the peer and forge back to back); ratio = peer / forge. CPU
time (user + system of the whole process tree) is printed too: on a shared machine it is the
figure other jobs bend least.

rss: peak resident memory (PSS) of the whole forge process tree (main + workers, summed) at two
input sizes. memlimit: forge under a memory limit smaller than the input file (short
conversations with a wide extra column, so the file is large but quick to tokenize), with the
default config: forge reads the limit itself and sizes DuckDB from it. Figures print last.

The limit is RLIMIT_DATA (`prlimit --data`), per process (main, each worker, the global-step
and report children): it caps heap and private anonymous mappings, the memory a process
really owns, and counts them when they are reserved, not only when touched, so it is
stricter than resident memory. An address-space limit (--as) is no honest stand-in: a forge
process has 2.1 GB of address space mapped before it reads a row (shared libraries of
pyarrow, DuckDB and tokenizers, allocator arenas), which is not memory in use. A cgroup
(memory.max) is the other honest limit, but needs a cgroup this benchmark may create; forge
reads that one too (forge.data.memory.process_limit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORGE_TEST_DATA", ROOT.parent / "shared" / "data"))
WORK = Path(os.environ.get("FORGE_BENCH_DIR", "/tmp/forge-bench"))
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _base_conversations() -> list[list[dict]]:
    chat = DATA / "chat"
    convs = []
    for name in ("alpaca_5000.json", "alpaca_en_demo.json"):
        for r in json.loads((chat / name).read_text()):
            prompt = r["instruction"] + ("\n\n" + r["input"] if r.get("input") else "")
            convs.append(
                [{"role": "user", "content": prompt}, {"role": "assistant", "content": r["output"]}]
            )
    roles = {"human": "user", "gpt": "assistant"}
    for r in json.loads((chat / "dummy_conversation.json").read_text()):
        convs.append(
            [{"role": roles[t["from"]], "content": t["value"]} for t in r["conversations"]]
        )
    return [c for c in convs if all(m["content"].strip() for m in c)]


def make_input(rows: int) -> Path:
    """rows conversations as {"messages": [...]} JSONL. Row i joins base conversations a and b
    (a = i mod n, b from a stride), turn by turn: rows share at most one half with any other,
    so they are neither exact nor near duplicates (Jaccard well under the 0.8 threshold) and
    both pipelines tokenize every row."""
    path = WORK / f"chat2-{rows}.jsonl"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    base = [c for c in _base_conversations() if len(c) == 2]
    n = len(base)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for i in range(rows):
            a, b = base[i % n], base[(i // n * 7919 + i * 31 + 1) % n]
            msgs = [
                {"role": x["role"], "content": x["content"] + "\n\n" + y["content"]}
                for x, y in zip(a, b, strict=True)
            ]
            f.write(json.dumps({"messages": msgs}) + "\n")
    tmp.replace(path)
    return path


def make_model() -> Path:
    """A model folder: byte-level BPE (vocab 8192) trained on the chat files + chatml template."""
    folder = WORK / "model"
    if (folder / "tokenizer.json").exists():
        return folder
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=8192,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = [m["content"] for c in _base_conversations() for m in c]
    tok.train_from_iterator(texts, trainer)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "chat_template": CHATML,
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "tokenizer_class": "PreTrainedTokenizerFast",
            }
        )
    )
    return folder


def _forge_config(
    data: Path, model: Path, out: Path, workers: int, report: bool = True, extra=None
) -> Path:
    import yaml

    cfg = {
        "version": 1,
        "model": {"name": str(model), "max_length": 4096},
        "data": {"name": "bench", "output_dir": str(out), "sources": [{"path": str(data)}]},
        "preprocessing": {"workers": workers, "report": report, **(extra or {})},
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


CPU: dict[str, float] = {}
"""CPU seconds (user + system, the whole process tree) of each measured command, by its tag."""


SAMPLE = {"every": 0.05}
"""Seconds between two memory samples. Reading every process's PSS costs about 1.5 ms a
process (plus a walk of /proc for the children): at 50 ms that is a tenth of a core on a
2-core machine, taken from whichever side is being timed, so the speed runs sample at 0.5 s
(a coarse peak) and the rss runs, which time nothing, at 50 ms."""


def _measure(cmd: list[str], env: dict | None = None, tag: str = "") -> tuple[float, int]:
    """(wall seconds, peak memory in bytes of the process tree: the sum of each process's PSS).
    Its CPU time goes to CPU[tag]: on a shared machine, the figure least bent by other jobs."""
    import resource
    import threading

    import psutil

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = [0]

    def sample() -> None:  # beside the wait, so the end is seen at once, not at the next sample
        while proc.poll() is None:
            try:
                # PSS: pages shared by forked workers are counted once, not once per process
                rss = ps.memory_full_info().pss + sum(
                    c.memory_full_info().pss for c in ps.children(recursive=True)
                )
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            time.sleep(SAMPLE["every"])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.join()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[tag] = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{err.decode()[-3000:]}")
    return wall, peak[0]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_forge(
    data: Path,
    workers: int,
    tag: str,
    prefix: list[str] | None = None,
    report: bool = True,
    extra: dict | None = None,
):
    out = WORK / f"out-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    cfg = _forge_config(data, make_model(), out, workers, report, extra)
    cmd = [*(prefix or []), sys.executable, "-m", "forge", "--config", str(cfg), "--quiet"]
    wall, peak = _measure([*cmd, "prepare", "--workers", str(workers)], _env(), tag)
    manifest = json.loads((out / "bench" / "manifest.json").read_text())
    return wall, peak, manifest


HF_SCRIPT = """
import sys
from datasets import load_dataset
from transformers import AutoTokenizer
data, model, out, nproc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tok = AutoTokenizer.from_pretrained(model)
def fn(batch):
    texts = [tok.apply_chat_template(m, tokenize=False) for m in batch["messages"]]
    enc = tok(texts, add_special_tokens=False)
    return {"text": texts, "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
ds = load_dataset("json", data_files=data, split="train")
ds = ds.map(fn, batched=True, num_proc=nproc, remove_columns=ds.column_names)
ds.to_parquet(out)
"""


def run_hf(data: Path, workers: int) -> tuple[float, int]:
    cache = WORK / "hf-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, HF_DATASETS_CACHE=str(cache), HF_HUB_OFFLINE="1")
    env["TOKENIZERS_PARALLELISM"] = "false"
    out = WORK / "hf-out.parquet"
    cmd = [sys.executable, "-c", HF_SCRIPT, str(data), str(make_model()), str(out), str(workers)]
    return _measure(cmd, env, "hf")


def speed(args) -> None:
    """`--repeat` rounds, each running the peer, forge without the report and forge, one
    after another (so a slow spell of a shared machine hits all three); medians reported."""
    import statistics

    SAMPLE["every"] = 0.5
    data = make_input(args.rows)
    make_model()
    runs: dict[str, list[tuple[float, float, int]]] = {"hf": [], "noreport": [], "forge": []}
    m: dict = {}
    for r in range(args.repeat):
        loads = os.getloadavg()[0]
        wall, peak = run_hf(data, args.workers)
        runs["hf"].append((wall, CPU["hf"], peak))
        wall, peak, _ = run_forge(data, args.workers, "speed-noreport", report=False)
        runs["noreport"].append((wall, CPU["speed-noreport"], peak))
        wall, peak, m = run_forge(data, args.workers, "speed")
        runs["forge"].append((wall, CPU["speed"], peak))
        print(
            f"round {r + 1}: HF {runs['hf'][-1][0]:.1f} s, forge without report "
            f"{runs['noreport'][-1][0]:.1f} s, forge {runs['forge'][-1][0]:.1f} s "
            f"(load average {loads:.1f} -> {os.getloadavg()[0]:.1f})",
            flush=True,
        )

    def med(tag: str, k: int) -> float:
        return statistics.median(x[k] for x in runs[tag])

    rows = m["counts"]["read"]["in"]
    dups = m["global_step"]["duplicates"]
    print(
        f"input: {rows:,} conversations, {data.stat().st_size / 1e6:.0f} MB, {args.workers} workers,"
        f" medians of {args.repeat} rounds"
    )
    print(
        f"forge prepare : {med('forge', 0):7.1f} s  peak~{med('forge', 2) / 2**20:6.0f} MiB  "
        f"CPU {med('forge', 1):6.1f} s  (duplicates: {dups})"
    )
    print(
        "  without the quality report (preprocessing.report: false): "
        f"{med('noreport', 0):7.1f} s  CPU {med('noreport', 1):6.1f} s"
    )
    print(
        f"HF datasets   : {med('hf', 0):7.1f} s  peak~{med('hf', 2) / 2**20:6.0f} MiB  "
        f"CPU {med('hf', 1):6.1f} s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}  (peak~: sampled every 0.5 s)")
    print(f"CPU ratio (HF CPU / forge CPU): {med('hf', 1) / med('forge', 1):.2f}x")
    print(f"ratio without the report: {med('hf', 0) / med('noreport', 0):.2f}x")
    print(f"ratio (HF time / forge time): {med('hf', 0) / med('forge', 0):.2f}x  (goal >= 1.3x)")


def rss(args) -> None:
    res = {}
    for n in (args.small, args.large):
        data = make_input(n)
        wall, peak, m = run_forge(data, args.workers, f"rss-{n}")
        res[n] = peak
        print(f"{n:>10,} conversations: {wall:7.1f} s, peak RSS {peak / 2**20:6.0f} MiB")
    a, b = res[args.small], res[args.large]
    print(
        f"peak RSS ratio large/small: {b / a:.2f}x (goal <= 1.2x), max {max(a, b) / 2**20:.0f} MiB (goal < 1024)"
    )


def make_wide_input(rows: int, extra: int) -> Path:
    """A file larger than the memory limit that is quicker to tokenize than its size says: the
    conversations of `make_input` (no duplicates), each with an `extra`-byte column that forge
    reads, keeps as meta and carries through both passes."""
    path = WORK / f"wide2-{rows}-{extra}.jsonl"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    base = [c for c in _base_conversations() if len(c) == 2]
    words = [m["content"] for c in base for m in c]
    tmp = path.with_suffix(".tmp")
    with open(make_input(rows)) as src, open(tmp, "w") as f:
        for i, line in enumerate(src):
            notes = " ".join(words[(i * 7 + k) % len(words)] for k in range(90))[:extra]
            row = json.loads(line)
            row["notes"] = f"{i} {notes}"
            f.write(json.dumps(row) + "\n")
    tmp.replace(path)
    return path


def memlimit(args) -> None:
    data = make_wide_input(args.rows, args.extra)
    limit = args.limit_mb << 20
    size = data.stat().st_size
    # glibc makes up to 8 malloc arenas per core, each keeping freed memory of its own that
    # RLIMIT_DATA still counts; two are plenty for forge's processes
    os.environ["MALLOC_ARENA_MAX"] = "2"
    prefix = ["prlimit", f"--data={limit}"]
    wall, peak, m = run_forge(data, args.workers, "memlimit", prefix, report=args.report)
    print(
        f"input {size / 2**20:.0f} MiB ({args.rows:,} rows) under a data-segment limit of "
        f"{args.limit_mb} MiB per process (prlimit --data, report {'on' if args.report else 'off'}): "
        f"completed in {wall:.1f} s, "
        f"{sum(m['counts']['splits'].values()):,} rows written, peak {peak / 2**20:.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--rows", type=int, default=200_000)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--repeat", type=int, default=3, help="rounds (medians are reported)")
    r = sub.add_parser("rss")
    r.add_argument("--small", type=int, default=50_000)
    r.add_argument("--large", type=int, default=2_000_000)
    r.add_argument("--workers", type=int, default=2)
    m = sub.add_parser("memlimit")
    m.add_argument("--rows", type=int, default=200_000)
    m.add_argument("--extra", type=int, default=6000, help="bytes of extra column per row")
    m.add_argument("--limit-mb", type=int, default=900)
    m.add_argument("--workers", type=int, default=2)
    m.add_argument("--no-report", dest="report", action="store_false", help="skip the report")
    args = ap.parse_args()
    {"speed": speed, "rss": rss, "memlimit": memlimit}[args.cmd](args)


if __name__ == "__main__":
    main()
