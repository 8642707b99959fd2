"""ModelSpec: what forge knows about one model (from the catalog, a preset or a local folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """Facts about a model. Shape numbers follow Hugging Face config.json names.

    ``params`` is the total parameter count (all experts for MoE models); ``active_params``
    the parameters used per token (equal to ``params`` for dense models).
    """

    id: str
    family: str
    template: str | None
    context_length: int
    params: int
    architecture: str
    special_tokens: dict[str, str]
    n_layers: int
    hidden_size: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    intermediate_size: int
    path: str | None = None
    preset: dict | None = None
    # Beyond the agreed interface: what the memory estimator and `find` also need.
    head_dim: int | None = None  # None: hidden_size // n_heads
    tied_embeddings: bool = False
    n_experts: int = 0  # routed experts of an MoE model (0: dense)
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    active_params: int | None = None
    aliases: tuple[str, ...] = ()
    released: str | None = None  # "2024-09": newer wins ties between same-size models
    auto: bool = True  # False: `forge plan` picks it only when asked by name
    base: bool = False  # a pretrained (not instruction-tuned) checkpoint
    quantization: str | None = None  # set when found through a quantized repack's name
    requested: str | None = None  # the name `find` was given, when it differs from `id`
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 0

    @property
    def is_preset(self) -> bool:
        return self.preset is not None

    @property
    def params_active(self) -> int:
        return self.active_params or self.params

    @property
    def attn_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // max(self.n_heads, 1)

    def __hash__(self) -> int:  # dicts are not hashable; the id (+ how it was found) is enough
        return hash((self.id, self.path, self.quantization, self.requested))


def gated_mlp(architecture: str) -> bool:
    """True for SwiGLU/GeGLU MLPs (gate, up, down: 3 matrices); GPT-2 style MLPs have 2."""
    return not architecture.startswith(("GPT2", "ForgeGPT", "GPTNeo", "OPT", "Bloom"))


def count_params(spec: ModelSpec) -> int:
    """Parameters implied by the shape (dense transformer; norms and biases ignored, <0.1%).

    Per layer: attention q and o are hidden x (heads*head_dim), k and v are
    hidden x (kv_heads*head_dim); the MLP is 3 matrices hidden x intermediate when gated
    (LLaMA-style SwiGLU), else 2 (GPT-2). Embeddings vocab x hidden, twice when the output
    head is not tied. GPT-2 adds learned positions (context x hidden).
    """
    h, hd = spec.hidden_size, spec.attn_head_dim
    attn = 2 * h * spec.n_heads * hd + 2 * h * spec.n_kv_heads * hd
    mlp = (3 if gated_mlp(spec.architecture) else 2) * h * spec.intermediate_size
    if spec.is_moe:
        mlp = 3 * h * spec.moe_intermediate_size * spec.n_experts
    emb = spec.vocab_size * h * (1 if spec.tied_embeddings else 2)
    if not gated_mlp(spec.architecture):
        emb += spec.context_length * h
    return spec.n_layers * (attn + mlp) + emb
