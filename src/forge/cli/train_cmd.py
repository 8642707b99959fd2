"""`forge train`, `forge runs`, `forge eval`, `forge generate`, `forge tokenizer train`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from forge.cli import common
from forge.errors import ForgeError

runs_app = typer.Typer(help="List, show and compare training runs.", invoke_without_command=True)
tokenizer_app = typer.Typer(
    help="Train tokenizers (saved as tokenizer.json).", no_args_is_help=True
)

RunArg = Annotated[str, typer.Argument(help="A run name (under training.output_dir) or path.")]
CkptOpt = Annotated[
    str, typer.Option("--checkpoint", help="Which checkpoint: best, last, or a step number.")
]


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
    app.command("generate")(generate_cmd)
    app.add_typer(runs_app, name="runs")
    app.add_typer(tokenizer_app, name="tokenizer")


def _output_dir() -> str:
    return common.load("runs", required=False).training.output_dir


def train_cmd(
    data: Annotated[
        str | None, typer.Option("--data", help="A text file or a prepared dataset folder.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="A forge GPT preset (model.name).")
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Continue a run: its name or path, or `auto` (the newest)."),
    ] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Steps to train.")] = None,
    run_name: Annotated[str | None, typer.Option("--run-name", help="Run folder name.")] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="char, bpe, a tokenizer.json or a model folder."),
    ] = None,
    json: common.JsonOpt = False,
) -> None:
    """Train a GPT from scratch (a preset such as char-tiny) on a text file or prepared data.

    Runs under torchrun for several processes: torchrun --nproc-per-node 2 -m forge train ...

    Example: forge train --preset char-tiny --data input.txt --max-steps 500
    """
    from forge.track.console import ConsoleReporter
    from forge.train.loop import train

    if max_steps is not None and max_steps < 1:
        raise ForgeError(
            f"--max-steps must be at least 1 (got {max_steps})",
            "pass a positive number of steps, or leave it out to use training.max_steps",
        )
    # Without forge.yaml, --data or --preset (or --resume) says what to train; else: no plan.
    cfg = common.load("train", required=not (data or preset or resume))
    if data:
        cfg.training.data = data
    if preset:
        cfg.model.name = preset
    if max_steps is not None and not resume:
        cfg.training.max_steps = max_steps
    if run_name:
        cfg.training.run_name = run_name
    if tokenizer:
        cfg.model.tokenizer = tokenizer
    reporter = ConsoleReporter(
        enabled=cfg.tracking.console and not common.STATE.quiet,
        bar=common.show_progress(),
        log_interval=cfg.training.log_interval,
    )
    result = train(cfg, resume=resume, max_steps=max_steps if resume else None, console=reporter)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return
    if json:
        common.print_json(result.__dict__)
    else:
        best = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "-"
        common.console.print(
            f"[green]{result.status}[/green] {result.run_dir}: step {result.step}, best val loss "
            f"{best} (step {result.best_step}), {result.tokens_seen:,} tokens in "
            f"{result.train_seconds:.1f}s ({result.tokens_per_sec:,.0f} tokens/s)"
        )


@runs_app.callback()
def runs_list(ctx: typer.Context, json: common.JsonOpt = False) -> None:
    """List runs with status, step, best validation loss and tokens seen.

    Example: forge runs
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from forge.train.runs import list_runs

    rows = [
        {
            k: st.get(k)
            for k in ("name", "status", "step", "max_steps", "best_val_loss", "tokens_seen")
        }
        | {"preset": st.get("preset"), "path": st.get("path")}
        for st in list_runs(_output_dir())
    ]
    if json:
        common.print_json(rows)
        return
    table = Table()
    table.add_column("run", overflow="fold")  # whole names: they are what other commands take
    for name in ("status", "step", "best val loss", "tokens seen", "preset"):
        table.add_column(name)
    for r in rows:
        best = f"{r['best_val_loss']:.4f}" if r["best_val_loss"] is not None else "-"
        table.add_row(
            r["name"],
            r["status"],
            f"{r['step']}/{r['max_steps']}",
            best,
            f"{r['tokens_seen'] or 0:,}",
            r["preset"] or "",
        )
    common.console.print(table)


@runs_app.command("show")
def runs_show(run: RunArg, json: common.JsonOpt = False) -> None:
    """Everything about one run: status, config, checkpoints, last metrics.

    Example: forge runs show char-tiny-20250101-120000
    """
    import orjson

    from forge.track.sinks import read_metrics
    from forge.train.checkpoint import list_checkpoints
    from forge.train.runs import effective_status, find_run, read_status

    run_dir = find_run(run, _output_dir())
    st = read_status(run_dir)
    st["status"] = effective_status(st)
    st["path"] = str(run_dir)
    st["checkpoints"] = [s for s, _ in list_checkpoints(run_dir)]
    resolved = run_dir / "resolved.json"
    st["resolved"] = orjson.loads(resolved.read_bytes()) if resolved.is_file() else None
    metrics = read_metrics(run_dir)
    st["last_metrics"] = next((m for m in reversed(metrics) if "loss" in m), None)
    if json:
        common.print_json(st)
        return
    common.console.print(f"[bold]{run_dir.name}[/bold]  {st['status']}  ({run_dir})")
    for k in ("preset", "data", "params", "step", "max_steps", "tokens_seen", "best_val_loss"):
        common.console.print(f"  {k}: {st.get(k)}")
    common.console.print(f"  best step: {st.get('best_step')}  checkpoints: {st['checkpoints']}")
    if st["resolved"]:
        common.console.print(f"  model: {st['resolved']['model']}")
    if st["last_metrics"]:
        common.console.print(f"  last step metrics: {st['last_metrics']}")


@runs_app.command("compare")
def runs_compare(
    a: RunArg,
    b: RunArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG to write (default: compare.png).")
    ] = None,
    json: common.JsonOpt = False,
) -> None:
    """Compare two runs: best validation losses and a plot of both loss curves.

    Example: forge runs compare run-a run-b -o ab.png
    """
    from forge.track.plots import plot_runs
    from forge.track.sinks import read_metrics
    from forge.train.runs import find_run, read_status

    out_dir = _output_dir()
    dirs = [find_run(a, out_dir), find_run(b, out_dir)]
    png = plot_runs(
        {d.name: read_metrics(d) for d in dirs}, output or Path("compare.png"), "loss: A vs B"
    )
    rows = []
    for d in dirs:
        st = read_status(d)
        rows.append(
            {
                "name": d.name,
                "best_val_loss": st.get("best_val_loss"),
                "step": st.get("step"),
                "tokens_seen": st.get("tokens_seen"),
                "train_seconds": st.get("train_seconds"),
            }
        )
    if json:
        common.print_json({"runs": rows, "plot": str(png)})
        return
    for r in rows:
        common.console.print(
            f"{r['name']}: best val loss {r['best_val_loss']}, step {r['step']}, "
            f"{r['tokens_seen']} tokens"
        )
    common.console.print(f"plot: {png}")


def eval_cmd(
    run: RunArg,
    split: Annotated[str, typer.Option("--split", help="validation or train.")] = "validation",
    batches: Annotated[int | None, typer.Option("--batches", help="Batches to average.")] = None,
    checkpoint: CkptOpt = "best",
    json: common.JsonOpt = False,
) -> None:
    """Loss, perplexity and bits per character/byte of a run on its data.

    Example: forge eval char-tiny-20250101-120000 --split validation
    """
    from forge.train.api import evaluate_run

    result = evaluate_run(run, _output_dir(), split, batches, checkpoint)
    if json:
        common.print_json(result)
        return
    common.console.print(
        f"{result['run']} @ step {result['step']} on {split}: loss {result['loss']:.4f}, "
        f"perplexity {result['perplexity']:.3f}, bits/byte {result['bits_per_byte']:.4f}"
        + (f", bits/char {result['bits_per_char']:.4f}" if "bits_per_char" in result else "")
    )


def generate_cmd(
    run: RunArg,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="Text to continue.")] = "\n",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 200,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0)] = 0.8,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1)] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", min=0.0, max=1.0)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for reproducible text.")] = None,
    checkpoint: CkptOpt = "best",
    trace: Annotated[
        int,
        typer.Option(
            "--trace",
            min=0,
            help="Show the N indexed corpus chunks nearest to the text (forge index).",
        ),
    ] = 0,
    json: common.JsonOpt = False,
) -> None:
    """Continue a prompt with a trained run, streaming the text as it is generated.

    Example: forge generate char-tiny-20250101-120000 --prompt "ROMEO:" --seed 1
    """
    import sys

    from forge.cli import index_cmd
    from forge.train.api import stream_run

    pieces = stream_run(
        run, _output_dir(), prompt, max_new_tokens, temperature, top_k, top_p, seed, checkpoint
    )
    if json:
        text = "".join(pieces)
        out = {"prompt": prompt, "text": text}
        if trace:
            out["trace"] = index_cmd.trace(prompt + text, trace)
        common.print_json(out)
        return
    sys.stdout.write(prompt)
    written = []
    for piece in pieces:
        written.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    if trace:
        index_cmd.print_trace(index_cmd.trace(prompt + "".join(written), trace))


@tokenizer_app.command("train")
def tokenizer_train(
    files: Annotated[list[Path], typer.Argument(help="Text files to learn from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="tokenizer.json to write.")],
    kind: Annotated[str, typer.Option("--kind", help="char or bpe.")] = "bpe",
    vocab_size: Annotated[int, typer.Option("--vocab-size", min=32, help="BPE vocabulary.")] = 4096,
    json: common.JsonOpt = False,
) -> None:
    """Train a character-level or byte-level BPE tokenizer and save it as tokenizer.json.

    Example: forge tokenizer train corpus.txt --kind bpe --vocab-size 8000 -o tok/tokenizer.json
    """
    from forge.train.tokenizer import save_tokenizer, tokenizer_hash, train_tokenizer

    tok = train_tokenizer(kind, [str(f) for f in files], vocab_size)
    path = save_tokenizer(tok, output)
    result = {
        "path": str(path),
        "kind": kind,
        "vocab_size": tok.get_vocab_size(),
        "hash": tokenizer_hash(tok),
    }
    if json:
        common.print_json(result)
    else:
        common.console.print(
            f"wrote {path}: {kind}, {result['vocab_size']} tokens, hash {result['hash']}"
        )
