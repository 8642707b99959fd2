"""`forge template list | show | render | check`: see, try and verify chat templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from forge.cli import common

template_app = typer.Typer(
    help="List, show, render and check chat templates.", no_args_is_help=True
)

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Model name, model folder, built-in template name, or .jinja file."
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(template_app, name="template")


def _template(model: str | None):
    """The template for --model (or forge.yaml's model section when --model is absent)."""
    import difflib

    from forge.chat import builtin, get_template, resolve_template
    from forge.config.model import ModelConfig
    from forge.errors import ForgeError

    if model is None:
        cfg = common.load("template", required=False).model
        return resolve_template(cfg), cfg
    if model in builtin.FAMILIES or model.endswith(".jinja"):
        return get_template(model), ModelConfig(name=None)
    cfg = ModelConfig(name=model)
    try:
        return resolve_template(cfg), cfg
    except ForgeError as e:
        close = difflib.get_close_matches(model, builtin.names(), n=3, cutoff=0.6)
        if not close or Path(model).exists():
            raise
        raise ForgeError(
            f"unknown chat template or model {model!r}",
            f"did you mean the template {', '.join(close)}? ({e.hint or e.message})",
        ) from None


def _tokenizer(model_cfg, tokenizer: str | None):
    from forge.chat import load_tokenizer

    if tokenizer:  # named on the command line: it must load
        return load_tokenizer(tokenizer, model_cfg.special_tokens or None)
    for cand in (model_cfg.tokenizer, model_cfg.name):
        if cand and (Path(cand).is_file() or (Path(cand) / "tokenizer.json").is_file()):
            return load_tokenizer(cand, model_cfg.special_tokens or None)
    return None


@template_app.command("list")
def list_cmd(json: common.JsonOpt = False) -> None:
    """List the built-in chat templates and the models that use them.

    Example: forge template list --json
    """
    from forge.catalog import all_models
    from forge.chat import builtin

    from_catalog: dict[str, list[str]] = {}
    for spec in all_models():
        if spec.template:
            from_catalog.setdefault(spec.template, []).append(spec.id)
    rows = [
        {
            "name": f.name,
            "description": f.description,
            "models": list(dict.fromkeys([*from_catalog.get(f.name, []), *f.models])),
            "system": f.system,
            "tools": f.tools,
        }
        for f in builtin.FAMILIES.values()
    ]
    if json:
        common.print_json(rows)
        return
    from rich.table import Table

    table = Table("template", "what", "models")
    for r in rows:
        table.add_row(
            r["name"],
            r["description"],
            ", ".join(r["models"][:3]) + (" ..." if len(r["models"]) > 3 else ""),
        )
    common.console.print(table)


@template_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Built-in name, model folder or .jinja file.")],
    json: common.JsonOpt = False,
) -> None:
    """Print a chat template's source and what forge knows about it.

    Example: forge template show llama-3.1
    """
    t, _ = _template(name)
    info = {
        "name": t.name,
        "source": t.source,
        "hash": t.hash,
        "special_tokens": t.special_tokens,
        "end_of_turn": list(t.end_of_turn),
        "models": list(t.family.models) if t.family else [],
        "template": t.source_text,
    }
    if json:
        common.print_json(info)
        return
    common.console.print(f"[bold]{t.name}[/bold] ({t.source}, hash {t.hash})", highlight=False)
    if info["models"]:
        common.console.print("models: " + ", ".join(info["models"]), highlight=False)
    typer.echo(t.source_text)


SAMPLE = {
    "messages": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Italy?"},
        {"role": "assistant", "content": "Rome."},
    ]
}


def _read_conversations(file: Path | None, template=None) -> list:
    import orjson

    from forge.chat import Conversation
    from forge.errors import ForgeError

    if file is None:
        sample = Conversation.from_dict(SAMPLE)
        if template is not None and template.family is not None and not template.family.system:
            sample.messages = sample.messages[1:]  # this family has no system role
        return [sample]
    try:
        data: Any = orjson.loads(file.read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        raise ForgeError(
            f"cannot read {file}: {e}",
            'give a JSON file: {"messages": [...]}, a list of them, or a list of messages',
        ) from None
    if isinstance(data, dict):
        data = [data]
    if isinstance(data, list) and data and isinstance(data[0], dict) and "role" in data[0]:
        data = [{"messages": data}]
    if not isinstance(data, list) or not data:
        raise ForgeError(
            f"{file}: no conversations in it",
            'give {"messages": [...]}, a list of them, or a list of messages',
        )
    for i, d in enumerate(data, 1):
        problem = _conversation_problem(d)
        if problem:
            raise ForgeError(
                f"{file}: conversation {i}: {problem}",
                'each conversation is {"messages": [{"role": ..., "content": ...}, ...]}',
            )
    return [Conversation.from_dict(d) for d in data]


def _conversation_problem(d: Any) -> str | None:
    """What is wrong with one conversation read from JSON, or None."""
    msgs = d.get("messages") if isinstance(d, dict) else None
    if not isinstance(msgs, list) or not msgs:
        return "expected an object with a non-empty `messages` list"
    for j, m in enumerate(msgs, 1):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return f"message {j} has no `role` string"
        if m.get("content") is not None and not isinstance(m["content"], str):
            return f"message {j}: `content` must be a string or null"
    return None


@template_app.command("render")
def render_cmd(
    model: ModelOpt = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Conversation JSON (default: a sample).")
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="tokenizer.json or model folder for token counts."),
    ] = None,
    policy: Annotated[
        str, typer.Option("--policy", help="all_assistant, last_assistant or all.")
    ] = "all_assistant",
    generation_prompt: Annotated[
        bool, typer.Option("--generation-prompt", help="End with the reply header.")
    ] = False,
    json: common.JsonOpt = False,
) -> None:
    """Render conversations with a model's template; trained spans are highlighted.

    Example: forge template render --model Qwen/Qwen2.5-7B-Instruct --file conv.json
    """
    from forge.chat.encode import check_policy, trainable_indexes
    from forge.chat.spans import SpanFinder
    from forge.errors import ForgeError

    check_policy(policy)

    t, cfg = _template(model)
    tok = _tokenizer(cfg, tokenizer)
    specials = {**t.special_tokens, **(tok.special_tokens if tok else {})}
    finder = SpanFinder(t, **specials)
    results = []
    for n, conv in enumerate(_read_conversations(file, t)):
        msgs = t.inputs(conv)
        try:
            text, pos, every = finder.render(
                msgs, tools=conv.tools, add_generation_prompt=generation_prompt
            )
        except Exception as e:  # the template's own refusal (raise_exception) or failure
            where = f"{file}, conversation {n + 1}" if file else "the sample conversation"
            raise ForgeError(
                f"chat template {t.name} refuses {where}: {e}",
                "check the roles and their order (`forge template show` prints the template)",
            ) from None
        spans = finder.spans(msgs, text, pos, every, trainable_indexes(conv, policy)[0])
        row: dict[str, Any] = {"text": text, "spans": [[s.start, s.end] for s in spans]}
        if tok is not None:
            enc = tok.tokenizer.encode(text, add_special_tokens=False)
            row["tokens"] = len(enc.ids)
            row["trained_tokens"] = sum(
                1 for a, b in enc.offsets if any(a < e and b > s for s, e in row["spans"])
            )
        results.append(row)
    if json:
        common.print_json({"template": t.name, "hash": t.hash, "conversations": results})
        return
    from rich.text import Text

    common.console.print(
        f"[dim]template {t.name} ({t.source}); trained text highlighted[/dim]", highlight=False
    )
    for row in results:
        out = Text()
        last = 0
        for s, e in row["spans"]:
            out.append(row["text"][last:s])
            out.append(row["text"][s:e], style="bold green on grey15")
            last = e
        out.append(row["text"][last:])
        common.console.print(out, highlight=False, markup=False)
        if "tokens" in row:
            common.console.print(
                f"[dim]{row['tokens']} tokens, {row['trained_tokens']} trained[/dim]"
            )
    if tok is None:
        common.info("[dim]no tokenizer found for token counts: pass --tokenizer PATH[/dim]")


@template_app.command("check")
def check_cmd(
    model: ModelOpt = None,
    tokenizer: Annotated[
        str | None, typer.Option("--tokenizer", help="tokenizer.json or model folder.")
    ] = None,
    json: common.JsonOpt = False,
) -> None:
    """Run the template battery: what renders, what the template refuses, and whether the
    trained spans hold each answer; compares a model folder's template with forge's built-in.

    Example: forge template check --model ./models/my-llama
    """
    from forge.chat.check import run_check

    t, cfg = _template(model)
    report = run_check(t, _tokenizer(cfg, tokenizer), cfg)
    if json:
        common.print_json(report)
    else:
        c = common.console
        c.print(f"[bold]{t.name}[/bold] ({t.source}, hash {t.hash})", highlight=False)
        c.print(
            f"rendered {report['rendered']} of {report['cases']} battery conversations; refused {report['refused']}"
        )
        for msg, n in report["refusals"].items():
            c.print(f"  [yellow]refuses[/yellow] ({n}x): {msg}", highlight=False)
        c.print(f"answers inside their trained spans: {report['spans_ok']} of {report['answers']}")
        for note in report["notes"]:
            c.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        for p in report["problems"]:
            c.print(f"[red]problem:[/red] {p}", highlight=False)
        if not report["problems"]:
            c.print("[green]ok[/green]")
    if report["problems"]:
        raise typer.Exit(1)
