"""Model configurations, presets, `build_model`, and parameter and FLOP counts.

Presets (Transformer, then the LSTM of about the same size at `vocabulary_size=65`, the
characters of Tiny Shakespeare):

| preset        | Transformer                               | params | LSTM             | params |
|---------------|-------------------------------------------|--------|------------------|--------|
| `tiny`        | 2 layers, 2 heads, 64 wide, context 64    | 108 K  | 2 x 80, emb 64   | 107 K  |
| `nanogpt-cpu` | 4 layers, 4 heads, 128 wide, context 64   | 810 K  | 2 x 232, emb 128 | 790 K  |
| `nanogpt-gpu` | 6 layers, 6 heads, 384 wide, context 256  | 10.8 M | 2 x 880, emb 384 | 10.7 M |

`nanogpt-gpu` uses dropout 0.2 in both; the others none.

How the LSTMs were matched: two layers (the classic Zaremba et al. setup), `embedding_dim` equal
to the Transformer's `hidden_dim`, and `hidden_dim` the multiple of 8 whose total parameter count
(embedding + LSTMs + Dense head, at vocabulary 65) comes closest to the Transformer's. With a
larger vocabulary both grow by about `vocabulary_size * width` (the LSTM's head is untied, so a
little more).
"""

import dataclasses
import inspect

from tlm.checks import check_choice
from tlm.models.lstm import LSTMLanguageModel
from tlm.models.transformer import TransformerLanguageModel

MODEL_KINDS = ("transformer", "lstm")


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Hyperparameters of a `TransformerLanguageModel` (the vocabulary comes from the tokenizer)."""

    sequence_length: int = 64  # context: the most tokens the model sees (learned positions)
    num_layers: int = 2  # Transformer blocks stacked
    num_heads: int = 2  # attention heads per block; must divide hidden_dim
    hidden_dim: int = 64  # width of the residual stream and of the embeddings
    intermediate_dim: int = 256  # feed-forward width, 4 x hidden_dim as in GPT-2
    dropout: float = 0.0  # small models on small data: 0.0; 0.2 at nanogpt-gpu size
    norm_first: bool = True  # pre-norm (GPT-2) trains more stably than post-norm
    position_embedding: str = "learned"  # "learned" (GPT-2) or "sinusoidal" (2017 paper)
    tie_weights: bool = True  # output projection shares the token embedding, as in GPT-2


@dataclasses.dataclass(frozen=True)
class LSTMConfig:
    """Hyperparameters of an `LSTMLanguageModel` (the vocabulary comes from the tokenizer)."""

    embedding_dim: int = 64  # size of each token vector
    hidden_dim: int = 80  # units per LSTM layer (matched to the Transformer's parameter count)
    num_layers: int = 2  # stacked LSTM layers, as in Zaremba et al. (2014)
    dropout: float = 0.0  # on the embedding and between layers, never on the recurrence


PRESETS = {
    "tiny": {
        # About 110 K parameters: a few hundred steps learn Shakespeare's layout in ~1-2 minutes.
        "transformer": TransformerConfig(),
        "lstm": LSTMConfig(),
    },
    "nanogpt-cpu": {
        # nanoGPT's "baby GPT" for Shakespeare characters on a laptop CPU.
        "transformer": TransformerConfig(
            sequence_length=64, num_layers=4, num_heads=4, hidden_dim=128, intermediate_dim=512
        ),
        "lstm": LSTMConfig(embedding_dim=128, hidden_dim=232),
    },
    "nanogpt-gpu": {
        # nanoGPT's train_shakespeare_char config, meant for a GPU.
        "transformer": TransformerConfig(
            sequence_length=256,
            num_layers=6,
            num_heads=6,
            hidden_dim=384,
            intermediate_dim=1536,
            dropout=0.2,
        ),
        "lstm": LSTMConfig(embedding_dim=384, hidden_dim=880, dropout=0.2),
    },
}

_MODEL_CLASSES = {"transformer": TransformerLanguageModel, "lstm": LSTMLanguageModel}
# Keras arguments every model accepts on top of its own (present in `get_config()`).
_KERAS_ARGUMENTS = ("name", "trainable", "dtype")


def build_model(kind, vocabulary_size, preset="tiny", **overrides):
    """Build a language model of `kind` from a preset, with any hyperparameter overridden.

    Args:
        kind: `"transformer"` or `"lstm"` (see `MODEL_KINDS`).
        vocabulary_size: the tokenizer's vocabulary size.
        preset: `"tiny"`, `"nanogpt-cpu"` or `"nanogpt-gpu"` (see `PRESETS`).
        **overrides: any constructor argument of the model (`num_layers=3`, `dropout=0.1`,
            `name=...`); `build_model(kind, **model.get_config())` rebuilds a model.

    Returns:
        An unbuilt `TransformerLanguageModel` or `LSTMLanguageModel`; it builds on first call.

    Example:

    >>> model = build_model("transformer", vocabulary_size=65, preset="nanogpt-cpu")
    >>> model.num_layers, model.hidden_dim, model.context_length
    (4, 128, 64)
    >>> count_parameters(model)
    809856
    >>> count_parameters(build_model("lstm", vocabulary_size=65, preset="nanogpt-cpu"))
    789993
    """
    check_choice("kind", kind, MODEL_KINDS)
    check_choice("preset", preset, tuple(PRESETS))
    model_class = _MODEL_CLASSES[kind]
    allowed = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    allowed |= set(_KERAS_ARGUMENTS)
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(
            f"Unknown argument(s) for a {kind} model: {', '.join(unknown)}. "
            f"Valid: {', '.join(sorted(allowed - {'vocabulary_size'}))}. Received: {unknown}"
        )
    arguments = {**dataclasses.asdict(PRESETS[preset][kind]), **overrides}
    return model_class(vocabulary_size=vocabulary_size, **arguments)


def count_parameters(model):
    """Number of weights in `model` (trainable or not; a tied matrix counts once). Builds it."""
    if not model.built:
        model.build((None, None))
    return int(model.count_params())


def _matmul_parameters(model):
    """Parameters that take part in a matrix product: all but the lookup-only embedding tables."""
    total = count_parameters(model)
    if isinstance(model, TransformerLanguageModel):
        embedding = model.embedding
        if embedding.position_embedding == "learned":
            total -= model.sequence_length * model.hidden_dim
        if not embedding.tie_weights:  # the input table is a lookup; the output one is counted
            total -= model.vocabulary_size * model.hidden_dim
        return total
    return total - model.vocabulary_size * model.embedding_dim


def flops_per_token(model, training=True):
    """Floating-point operations per token, the usual estimate (Kaplan et al. 2020; nanoGPT).

    A multiply-add is 2 FLOPs, so the forward pass costs `2 * N` per token, where `N` is the
    number of parameters in matrix products (embedding lookups cost nothing; a tied embedding
    counts once, as the output projection; biases and norms are included, they are tiny). The
    backward pass costs twice the forward, so training costs `6 * N`. A Transformer adds the
    attention products `QKᵀ` and `weights @ V`: `2 * 2 * sequence_length * hidden_dim` per layer
    forward, counted over the full context as nanoGPT and PaLM do (not halved for the causal
    mask). So:

    - Transformer, training: `6 * N + 12 * num_layers * sequence_length * hidden_dim`
    - Transformer, forward only: `2 * N + 4 * num_layers * sequence_length * hidden_dim`
    - LSTM: `6 * N` training and `2 * N` forward (the gates' elementwise work is ignored).

    Args:
        model: a `TransformerLanguageModel` or `LSTMLanguageModel`.
        training: count forward and backward (`True`) or the forward pass only.

    Example:

    >>> model = build_model("transformer", vocabulary_size=65, preset="nanogpt-cpu")
    >>> flops_per_token(model), flops_per_token(model, training=False)
    (5203200, 1734400)
    """
    forward = 2 * _matmul_parameters(model)
    if isinstance(model, TransformerLanguageModel):
        forward += 4 * model.num_layers * model.sequence_length * model.hidden_dim
    return 3 * forward if training else forward
