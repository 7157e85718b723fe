"""A decoder-only (GPT-style) Transformer language model.

Taught in notebooks/04_transformer_language_model.ipynb; the blocks are in `tlm.layers`.
"""

import keras
from keras import ops

from tlm.checks import check_positive_int, check_rate
from tlm.layers import TokenAndPositionEmbedding, TransformerBlock
from tlm.layers.attention import head_dim_for
from tlm.models.config import TRANSFORMER_PRESETS
from tlm.models.registry import count_parameters, register_model_kind


@keras.saving.register_keras_serializable(package="tlm")
@register_model_kind
class TransformerLanguageModel(keras.Model):
    """Decoder-only Transformer: `P(w_t | w_1..w_{t-1})` for every position at once.

    `model(token_ids)` maps int token ids `(batch_size, time)`, `time <= sequence_length`, to
    float32 next-token logits `(batch_size, time, vocabulary_size)` (float32 also under
    `mixed_bfloat16`). Causal by construction: the logits at position t depend only on tokens
    0..t, so one forward pass trains on every prefix of the sequence.

    Layout, as GPT-2 and nanoGPT: token + position embedding, dropout, `num_layers`
    `TransformerBlock`s, a final layer normalization (pre-norm only), and the output projection,
    tied to the token embedding by default.

    Incremental decoding, shared with `LSTMLanguageModel` so one generation loop serves both:

    - `context_length`: `sequence_length`, the most positions the model can see.
    - `init_cache(batch_size, max_length=None)`: a zero key/value cache of static shape
      `(batch_size, num_layers, 2, max_length, num_heads, hidden_dim // num_heads)`.
    - `call_with_cache(token_ids, cache, index)`: `token_ids` `(batch_size, n)` sit at positions
      `index..index+n-1` (a prompt prefill, or one token); returns float32 logits
      `(batch_size, n, vocabulary_size)` and the updated cache. `index` may be a scalar tensor,
      so the loop can run inside `tf.function` / `tf.while_loop`. Keep `index + n <= max_length`:
      under XLA an out-of-range write is clamped silently rather than raising.

    Speed: on CPU, compile with `jit_compile=True` (XLA fuses the many small ops of a small
    model), as this model's `compile` does by default; `benchmarks/train_throughput.py` measures
    it with and without XLA against an equivalent keras_hub stack.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest input, and the number of learned positions.
        num_layers: number of Transformer blocks.
        num_heads: attention heads per block; must divide `hidden_dim`.
        hidden_dim: width of the residual stream (the embedding size).
        intermediate_dim: width of each block's feed-forward network (usually `4 * hidden_dim`).
        dropout: dropout rate after the embedding, on attention weights and on each sub-layer.
        norm_first: pre-norm blocks (`True`, GPT-2) or post-norm (`False`, the 2017 paper).
        position_embedding: `"learned"` or `"sinusoidal"`.
        tie_weights: share the token embedding with the output projection.
        activation: the feed-forward activation.
        layer_norm_epsilon: epsilon of every layer normalization.
        use_formula: run attention through the hand-written `scaled_dot_product_attention`.
        **kwargs: `keras.Model` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> model = TransformerLanguageModel(
    ...     vocabulary_size=65, sequence_length=16, num_layers=2, num_heads=2,
    ...     hidden_dim=32, intermediate_dim=64)
    >>> token_ids = np.array([[5, 12, 7]])
    >>> logits = model(token_ids)
    >>> tuple(logits.shape), str(logits.dtype)
    ((1, 3, 65), "<dtype: 'float32'>")
    >>> cache = model.init_cache(batch_size=1, max_length=16)
    >>> step_logits, cache = model.call_with_cache(token_ids, cache, 0)
    >>> bool(np.allclose(step_logits, logits, atol=1e-4))
    True
    """

    # The model-kind interface (see `tlm.models.registry`).
    kind = "transformer"
    label = "Transformer"
    presets = TRANSFORMER_PRESETS
    context_argument = "sequence_length"  # learned positions fix the longest input
    trains_faster_with_xla = True  # XLA fuses the many small ops of a small Transformer

    # One argument per hyperparameter, as keras-hub's models; `get_config` records them all.
    def __init__(  # noqa: PLR0913
        self,
        vocabulary_size,
        sequence_length,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.0,
        norm_first=True,
        position_embedding="learned",
        tie_weights=True,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        use_formula=False,
        **kwargs,
    ):
        for name, value in [
            ("vocabulary_size", vocabulary_size),
            ("sequence_length", sequence_length),
            ("num_layers", num_layers),
            ("intermediate_dim", intermediate_dim),
        ]:
            check_positive_int(name, value)
        head_dim_for(hidden_dim, num_heads)
        check_rate("dropout", dropout)
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.position_embedding = position_embedding
        self.tie_weights = tie_weights
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_formula = use_formula

        self.embedding = TokenAndPositionEmbedding(
            vocabulary_size,
            sequence_length,
            hidden_dim,
            position_embedding=position_embedding,
            tie_weights=tie_weights,
            dtype=self.dtype_policy,
            name="embedding",
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.blocks = [
            TransformerBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                norm_first=norm_first,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                use_formula=use_formula,
                dtype=self.dtype_policy,
                name=f"block_{i}",
            )
            for i in range(num_layers)
        ]
        # Pre-norm blocks leave the residual stream unnormalized: normalize once before the head.
        self.final_norm = (
            keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="final_norm"
            )
            if norm_first
            else None
        )

    @property
    def context_length(self):
        """The most positions the model attends over: `sequence_length`."""
        return self.sequence_length

    def build(self, input_shape=None):
        hidden_shape = (None, None, self.hidden_dim)
        self.embedding.build()
        for block in self.blocks:
            block.build(hidden_shape)
        if self.final_norm is not None:
            self.final_norm.build(hidden_shape)

    def _check_length(self, token_ids, start_index=0):
        length = token_ids.shape[-1]
        if isinstance(start_index, int) and length is not None:
            if start_index + length > self.sequence_length:
                raise ValueError(
                    "The input is longer than `sequence_length`. Received: input length="
                    f"{start_index + length}, sequence_length={self.sequence_length}"
                )

    def _head(self, x):
        if self.final_norm is not None:
            x = self.final_norm(x)
        # (batch_size, time, vocabulary_size), float32.
        return self.embedding(x, reverse=True)

    def compile(self, *args, jit_compile="auto", run_eagerly=False, **kwargs):
        """`keras.Model.compile`, with XLA for the train step unless you choose otherwise.

        Keras's `jit_compile="auto"` leaves XLA off on a CPU, where this model trains faster
        with it (XLA fuses its many small ops; `benchmarks/train_throughput.py` measures how
        much).
        So "auto" means XLA here, as in `tlm.training.train`, except under a
        `tf.distribute` strategy or with `run_eagerly=True`, where Keras decides. An explicit
        `jit_compile=False` (or True) is kept as given.

        Example:

        >>> model = TransformerLanguageModel(20, 16, 1, 2, 8, 16)
        >>> model.compile("adam", "sparse_categorical_crossentropy")
        >>> model.jit_compile
        True
        """
        if jit_compile == "auto" and not run_eagerly and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if not tf.distribute.has_strategy():
                jit_compile = True
        super().compile(*args, jit_compile=jit_compile, run_eagerly=run_eagerly, **kwargs)

    def call(self, token_ids, training=None):
        self._check_length(token_ids)
        x = self.embedding(token_ids)  # (batch_size, time, hidden_dim)
        x = self.embedding_dropout(x, training=training)
        for block in self.blocks:
            x = block(x, training=training)
        return self._head(x)

    def attention_scores(self, token_ids):
        """Attention weights of every block, for plotting.

        Returns:
            A list of `num_layers` float tensors `(batch_size, num_heads, time, time)`; row t of
            each head is how position t spreads its attention over positions 0..t.
        """
        self._check_length(token_ids)
        x = self.embedding(token_ids)
        scores = []
        for block in self.blocks:
            x, block_scores = block(x, return_attention_scores=True)
            scores.append(block_scores)
        return scores

    def init_cache(self, batch_size, max_length=None):
        """A zero key/value cache `(batch_size, num_layers, 2, max_length, num_heads, head_dim)`.

        Args:
            batch_size: number of sequences decoded together (an int, or a scalar int tensor).
            max_length: positions the cache holds, at most (and by default) `sequence_length`.
        """
        max_length = self.sequence_length if max_length is None else max_length
        if not ops.is_tensor(batch_size):  # a scalar tensor in an exported graph
            check_positive_int("batch_size", batch_size)
        check_positive_int("max_length", max_length)
        if max_length > self.sequence_length:
            raise ValueError(
                "`max_length` must be at most `sequence_length` (the context length). "
                f"Received: max_length={max_length}, sequence_length={self.sequence_length}"
            )
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def call_with_cache(self, token_ids, cache, index):
        """Logits for `token_ids` at positions `index..index+n-1`, reusing the cached keys/values.

        Args:
            token_ids: int tensor `(batch_size, n)`, n >= 1.
            cache: from `init_cache` or a previous `call_with_cache`.
            index: position of `token_ids[:, 0]`; an int or a scalar int tensor.

        Returns:
            `(logits, cache)`: float32 logits `(batch_size, n, vocabulary_size)` and the cache
            with the new positions' keys and values written in.
        """
        self._check_length(token_ids, index)
        x = self.embedding(token_ids, start_index=index)
        for i, block in enumerate(self.blocks):
            x, cache = block(x, cache=cache, cache_index=index, cache_layer=i)
        return self._head(x), cache

    def flops_per_token(self, training=True):
        """`2 * N + 4 * num_layers * sequence_length * hidden_dim` forward, 3x for training.

        `N` counts the parameters in matrix products: the learned position table and an untied
        input table are lookups and left out (`tlm.models.flops_per_token` explains the rule).
        """
        matmul_parameters = count_parameters(self)
        if self.position_embedding == "learned":
            matmul_parameters -= self.sequence_length * self.hidden_dim
        if not self.tie_weights:  # the input table is a lookup; the output one is counted
            matmul_parameters -= self.vocabulary_size * self.hidden_dim
        forward = 2 * matmul_parameters
        forward += 4 * self.num_layers * self.sequence_length * self.hidden_dim
        return 3 * forward if training else forward

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "norm_first": self.norm_first,
                "position_embedding": self.position_embedding,
                "tie_weights": self.tie_weights,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "use_formula": self.use_formula,
            }
        )
        return config
