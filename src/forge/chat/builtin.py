"""forge's built-in chat templates: one .jinja file per family in templates/, described here.

Each entry says which models use the family, the special tokens the family's tokenizers define
(used when no tokenizer says otherwise), the strings that close an assistant turn (trained, so
the model learns to stop), and what the family supports. `reference` names the public template
the built-in is tested against byte for byte (see tests/chat/test_battery.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    description: str
    models: tuple[str, ...]
    bos: str | None = None
    eos: str | None = None
    end_of_turn: tuple[str, ...] = ()
    """Strings closing an assistant turn besides eos (e.g. `<|im_end|>`)."""
    system: bool = True
    tools: bool = False
    reference: str | None = None
    """File in the shared reference set this template renders byte for byte."""
    reference_pretty: bool = False
    """The reference is pretty-printed and used after its documented whitespace stripping."""
    alters_content: tuple[str, ...] = field(default=())
    """How the template changes message text beyond whitespace: `think` (drops text before </think>),
    `tool_response` (treats user text wrapped in <tool_response> specially), `identity` (compares
    whole messages). Span finding verifies its fast path on rows where this can matter."""


_LLAMA3_EOT = ("<|eot_id|>", "<|eom_id|>")
_CHATML_EOT = ("<|im_end|>",)
_DS_EOS = "<｜end▁of▁sentence｜>"
_DS_BOS = "<｜begin▁of▁sentence｜>"

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "llama-2",
            "Llama 2 chat: [INST] turns, system in <<SYS>>",
            (
                "meta-llama/Llama-2-7b-chat-hf",
                "meta-llama/Llama-2-13b-chat-hf",
                "meta-llama/Llama-2-70b-chat-hf",
            ),
            "<s>",
            "</s>",
            reference="llama-2-chat.jinja",
        ),
        Family(
            "llama-3",
            "Llama 3 instruct: header per message, <|eot_id|>",
            ("meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-70B-Instruct"),
            "<|begin_of_text|>",
            "<|eot_id|>",
            _LLAMA3_EOT,
            reference="llama-3-instruct.jinja",
        ),
        Family(
            "llama-3.1",
            "Llama 3.1 / 3.3 instruct: dated system header, JSON tool calls",
            (
                "meta-llama/Llama-3.1-8B-Instruct",
                "meta-llama/Llama-3.1-70B-Instruct",
                "meta-llama/Llama-3.1-405B-Instruct",
                "meta-llama/Llama-3.3-70B-Instruct",
            ),
            "<|begin_of_text|>",
            "<|eot_id|>",
            _LLAMA3_EOT,
            tools=True,
            reference="llama-3.1-instruct.jinja",
        ),
        Family(
            "llama-3.2",
            "Llama 3.2 instruct: as 3.1, today's date",
            ("meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-3B-Instruct"),
            "<|begin_of_text|>",
            "<|eot_id|>",
            _LLAMA3_EOT,
            tools=True,
            reference="llama-3.2-instruct.jinja",
        ),
        Family(
            "mistral-v0.1",
            "Mistral 7B Instruct v0.1: [INST] turns, no system",
            ("mistralai/Mistral-7B-Instruct-v0.1",),
            "<s>",
            "</s>",
            system=False,
            reference="mistral-instruct-v0.1.jinja",
        ),
        Family(
            "mistral-v0.3",
            "Mistral 7B Instruct v0.3: system in the last [INST], tools",
            ("mistralai/Mistral-7B-Instruct-v0.3",),
            "<s>",
            "</s>",
            tools=True,
            reference="mistral-instruct-v0.3.jinja",
            alters_content=("identity",),
        ),
        Family(
            "mistral-v1",
            "Mistral v0.2 / Mixtral (current): optional system before the first [INST]",
            ("mistralai/Mistral-7B-Instruct-v0.2", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
            "<s>",
            "</s>",
            reference="mistral-v1-with-system.jinja",
        ),
        Family(
            "mixtral",
            "Mixtral 8x7B Instruct v0.1 (first revision): no system",
            ("mistralai/Mixtral-8x7B-Instruct-v0.1@first-revision",),
            "<s>",
            "</s>",
            system=False,
            reference="mixtral-8x7b-instruct-v0.1.jinja",
        ),
        Family(
            "gemma",
            "Gemma 1 and 2 instruct: <start_of_turn>user/model, no system",
            (
                "google/gemma-2b-it",
                "google/gemma-7b-it",
                "google/gemma-1.1-7b-it",
                "google/gemma-2-2b-it",
                "google/gemma-2-9b-it",
                "google/gemma-2-27b-it",
            ),
            "<bos>",
            "<eos>",
            ("<end_of_turn>",),
            system=False,
            reference="gemma-it.jinja",
        ),
        Family(
            "gemma-3",
            "Gemma 3 instruct: system joins the first user turn",
            (
                "google/gemma-3-1b-it",
                "google/gemma-3-4b-it",
                "google/gemma-3-12b-it",
                "google/gemma-3-27b-it",
            ),
            "<bos>",
            "<eos>",
            ("<end_of_turn>",),
            reference="gemma-3-it.jinja",
        ),
        Family(
            "qwen1.5",
            "Qwen1.5 chat: ChatML, default system",
            ("Qwen/Qwen1.5-7B-Chat", "Qwen/Qwen1.5-72B-Chat"),
            None,
            "<|im_end|>",
            _CHATML_EOT,
            reference="qwen1.5-chat.jinja",
        ),
        Family(
            "qwen2",
            "Qwen2 instruct: ChatML, default system",
            (
                "Qwen/Qwen2-0.5B-Instruct",
                "Qwen/Qwen2-1.5B-Instruct",
                "Qwen/Qwen2-7B-Instruct",
                "Qwen/Qwen2-72B-Instruct",
            ),
            None,
            "<|im_end|>",
            _CHATML_EOT,
            reference="qwen2-instruct.jinja",
        ),
        Family(
            "qwen2.5",
            "Qwen2.5 instruct: ChatML, default system, tools",
            (
                "Qwen/Qwen2.5-0.5B-Instruct",
                "Qwen/Qwen2.5-7B-Instruct",
                "Qwen/Qwen2.5-72B-Instruct",
                "Qwen/Qwen2.5-Coder-7B-Instruct",
            ),
            None,
            "<|im_end|>",
            _CHATML_EOT,
            tools=True,
            reference="qwen2.5-instruct.jinja",
        ),
        Family(
            "qwen3",
            "Qwen3: ChatML with <think> reasoning, tools",
            (
                "Qwen/Qwen3-0.6B",
                "Qwen/Qwen3-1.7B",
                "Qwen/Qwen3-4B",
                "Qwen/Qwen3-8B",
                "Qwen/Qwen3-14B",
                "Qwen/Qwen3-32B",
                "Qwen/Qwen3-30B-A3B",
            ),
            None,
            "<|im_end|>",
            _CHATML_EOT,
            tools=True,
            reference="qwen3.jinja",
            alters_content=("think", "tool_response"),
        ),
        Family(
            "phi-3",
            "Phi-3 mini instruct: <|role|> headers, <|end|>",
            ("microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-mini-128k-instruct"),
            None,
            "<|endoftext|>",
            ("<|end|>",),
            reference="phi-3-mini-instruct.jinja",
        ),
        Family(
            "phi-3.5",
            "Phi-3.5 mini instruct: as phi-3, empty system skipped",
            ("microsoft/Phi-3.5-mini-instruct",),
            None,
            "<|endoftext|>",
            ("<|end|>",),
            reference="phi-3.5-mini-instruct.jinja",
        ),
        Family(
            "phi-4",
            "Phi-4: <|im_start|>role<|im_sep|>, no newlines",
            ("microsoft/phi-4",),
            None,
            "<|im_end|>",
            _CHATML_EOT,
        ),
        Family(
            "zephyr",
            "Zephyr: <|role|> headers, eos after every turn",
            ("HuggingFaceH4/zephyr-7b-beta", "HuggingFaceH4/zephyr-7b-alpha"),
            "<s>",
            "</s>",
            reference="zephyr.jinja",
        ),
        Family(
            "tinyllama",
            "TinyLlama chat: the zephyr layout",
            ("TinyLlama/TinyLlama-1.1B-Chat-v1.0",),
            "<s>",
            "</s>",
            reference="tinyllama-chat.jinja",
        ),
        Family(
            "smollm2",
            "SmolLM2 instruct: ChatML, default system",
            (
                "HuggingFaceTB/SmolLM2-135M-Instruct",
                "HuggingFaceTB/SmolLM2-360M-Instruct",
                "HuggingFaceTB/SmolLM2-1.7B-Instruct",
            ),
            "<|im_start|>",
            "<|im_end|>",
            _CHATML_EOT,
            reference="smollm2.jinja",
        ),
        Family(
            "olmo-2",
            "OLMo 2 instruct: bos, then the tulu layout",
            ("allenai/OLMo-2-1124-7B-Instruct", "allenai/OLMo-2-1124-13B-Instruct"),
            "<|endoftext|>",
            "<|endoftext|>",
            reference="olmo-2-instruct.jinja",
        ),
        Family(
            "tulu",
            "Tulu 3: <|role|> headers, eos after answers",
            ("allenai/Llama-3.1-Tulu-3-8B", "allenai/Llama-3.1-Tulu-3-70B"),
            None,
            "<|end_of_text|>",
            reference="tulu.jinja",
        ),
        Family(
            "falcon3",
            "Falcon3 instruct: <|role|> headers, tools",
            (
                "tiiuae/Falcon3-1B-Instruct",
                "tiiuae/Falcon3-3B-Instruct",
                "tiiuae/Falcon3-7B-Instruct",
                "tiiuae/Falcon3-10B-Instruct",
            ),
            None,
            "<|endoftext|>",
            tools=True,
            reference="falcon3-instruct.jinja",
        ),
        Family(
            "deepseek-v2",
            "DeepSeek LLM / V2 / Coder-V2 chat: User:/Assistant:",
            (
                "deepseek-ai/deepseek-llm-7b-chat",
                "deepseek-ai/DeepSeek-V2-Lite-Chat",
                "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct",
            ),
            _DS_BOS,
            _DS_EOS,
            reference="deepseek-v2-chat.jinja",
        ),
        Family(
            "deepseek-v2.5",
            "DeepSeek-V2.5: <｜User｜>/<｜Assistant｜>, tools",
            ("deepseek-ai/DeepSeek-V2.5",),
            _DS_BOS,
            _DS_EOS,
            (_DS_EOS,),
            tools=True,
            reference="deepseek-v2.5.jinja",
        ),
        Family(
            "deepseek-v3",
            "DeepSeek-V3: <｜User｜>/<｜Assistant｜>, tools",
            ("deepseek-ai/DeepSeek-V3",),
            _DS_BOS,
            _DS_EOS,
            (_DS_EOS,),
            tools=True,
            reference="deepseek-v3.jinja",
        ),
        Family(
            "deepseek-r1",
            "DeepSeek-R1: reasoning before </think> dropped from answers",
            ("deepseek-ai/DeepSeek-R1",),
            _DS_BOS,
            _DS_EOS,
            (_DS_EOS,),
            tools=True,
            reference="deepseek-r1.jinja",
            alters_content=("think",),
        ),
        Family(
            "deepseek-r1-distill",
            "DeepSeek-R1-Distill (Qwen, Llama): replies open with <think>",
            (
                "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
                "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
                "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
                "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
                "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
            ),
            _DS_BOS,
            _DS_EOS,
            (_DS_EOS,),
            tools=True,
            reference="deepseek-r1-distill.jinja",
            alters_content=("think",),
        ),
        Family(
            "command-r",
            "Cohere Command R / R+: turn tokens",
            ("CohereForAI/c4ai-command-r-v01", "CohereForAI/c4ai-command-r-plus"),
            "<BOS_TOKEN>",
            "<|END_OF_TURN_TOKEN|>",
            ("<|END_OF_TURN_TOKEN|>",),
            reference="command-r.jinja",
        ),
        Family(
            "vicuna",
            "Vicuna v1.1 / v1.5: USER:/ASSISTANT:",
            ("lmsys/vicuna-7b-v1.5", "lmsys/vicuna-13b-v1.5"),
            "<s>",
            "</s>",
            reference="vicuna.jinja",
            reference_pretty=True,
        ),
        Family(
            "alpaca",
            "Alpaca: ### Instruction / ### Response",
            ("tatsu-lab/alpaca",),
            "<s>",
            "</s>",
            reference="alpaca.jinja",
            reference_pretty=True,
        ),
        Family(
            "chatml",
            "Generic ChatML (OpenHermes, Dolphin, transformers' default)",
            ("teknium/OpenHermes-2.5-Mistral-7B", "cognitivecomputations/dolphin-2.5-mixtral-8x7b"),
            None,
            "<|im_end|>",
            _CHATML_EOT,
            reference="chatml-plain.jinja",
        ),
    ]
}


def names() -> list[str]:
    return list(FAMILIES)


@cache
def source(name: str) -> str:
    """The .jinja text of a built-in template."""
    return resources.files("forge.chat").joinpath("templates", f"{name}.jinja").read_text("utf-8")


def strip_pretty(text: str) -> str:
    """The documented preparation of the pretty-printed community templates: drop 4-space
    indents and newlines (escaped `\\n` inside strings stays)."""
    return text.replace("    ", "").replace("\n", "")
