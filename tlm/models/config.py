"""Model configurations and the presets of the two built-in kinds.

Each model class carries its presets (`TransformerLanguageModel.presets`,
`LSTMLanguageModel.presets`): a dict from preset name to a frozen config dataclass whose fields
are the constructor's arguments. Presets of the same name are matched across kinds
(Transformer, then the LSTM of about the same size at `vocabulary_size=65`, the characters of
Tiny Shakespeare):

| preset        | Transformer                               | params | LSTM             | params |
|---------------|-------------------------------------------|--------|------------------|--------|
| `tiny`        | 2 layers, 2 heads, 64 wide, context 64    | 108 K  | 2 x 80, emb 64   | 107 K  |
| `nanogpt-cpu` | 4 layers, 4 heads, 128 wide, context 64   | 810 K  | 2 x 232, emb 128 | 790 K  |
| `nanogpt-gpu` | 6 layers, 6 heads, 384 wide, context 256  | 10.8 M | 2 x 880, emb 384 | 10.7 M |

`nanogpt-gpu` uses dropout 0.2 in both; the others none. The LSTM alone also has the
`zaremba-small`, `zaremba-medium` and `zaremba-large` presets of Zaremba et al. (2014), 2 x 200,
2 x 650 and 2 x 1500 (word-level Penn Treebank; see `tlm.training.TRAINING_PRESETS`).

How the LSTMs were matched: two layers (the classic Zaremba et al. setup), `embedding_dim` equal
to the Transformer's `hidden_dim`, and `hidden_dim` the multiple of 8 whose total parameter count
(embedding + LSTMs + Dense head, at vocabulary 65) comes closest to the Transformer's. With a
larger vocabulary both grow by about `vocabulary_size * width` (the LSTM's head is untied, so a
little more).
"""

import dataclasses


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
    init_scale: float | None = None  # None: Keras's initializers; s: every weight in [-s, s]


TRANSFORMER_PRESETS = {
    # About 110 K parameters: a few hundred steps learn Shakespeare's layout in ~1-2 minutes.
    "tiny": TransformerConfig(),
    # nanoGPT's "baby GPT" for Shakespeare characters on a laptop CPU.
    "nanogpt-cpu": TransformerConfig(
        sequence_length=64, num_layers=4, num_heads=4, hidden_dim=128, intermediate_dim=512
    ),
    # nanoGPT's train_shakespeare_char config, meant for a GPU.
    "nanogpt-gpu": TransformerConfig(
        sequence_length=256,
        num_layers=6,
        num_heads=6,
        hidden_dim=384,
        intermediate_dim=1536,
        dropout=0.2,
    ),
}

# Each LSTM preset matches the Transformer preset of the same name in parameter count (see above).
LSTM_PRESETS = {
    "tiny": LSTMConfig(),
    "nanogpt-cpu": LSTMConfig(embedding_dim=128, hidden_dim=232),
    "nanogpt-gpu": LSTMConfig(embedding_dim=384, hidden_dim=880, dropout=0.2),
    # Zaremba et al. (2014), word-level Penn Treebank: two layers, the embedding as wide as the
    # LSTM, dropout on the non-recurrent connections, every weight uniform in [-s, s]. Their
    # training recipes (SGD, epoch decay, unroll length, batch size) are
    # `tlm.training.TRAINING_PRESETS`; they have no Transformer twin.
    "zaremba-small": LSTMConfig(embedding_dim=200, hidden_dim=200, init_scale=0.1),
    "zaremba-medium": LSTMConfig(embedding_dim=650, hidden_dim=650, dropout=0.5, init_scale=0.05),
    "zaremba-large": LSTMConfig(embedding_dim=1500, hidden_dim=1500, dropout=0.65, init_scale=0.04),
}
