"""An LSTM language model: the recurrent baseline the Transformer is compared with.

Taught in notebooks/03_lstm_language_model.ipynb and compared in 06_lstm_vs_transformer.ipynb.
"""

import keras
from keras import ops

from tlm.checks import check_positive_int, check_rate
from tlm.models.config import LSTM_PRESETS
from tlm.models.registry import count_parameters, register_model_kind


@keras.saving.register_keras_serializable(package="tlm")
@register_model_kind
class LSTMLanguageModel(keras.Model):
    """Embedding -> stacked `keras.layers.LSTM` -> Dense: next-token logits at every position.

    `model(token_ids)` maps int token ids `(batch_size, time)` to float32 logits
    `(batch_size, time, vocabulary_size)`: like the Transformer, it predicts the next token at
    *every* position (`return_sequences=True`), so a sequence of T tokens gives T training
    targets, and the loss is the cross-entropy whose exponential is the perplexity.

    This is what the seed document's Keras LSTM example should have been. That example predicted
    a single word per sequence (an LSTM without `return_sequences` feeding one softmax), passed a
    raw string to `model.predict` instead of token ids, and never measured perplexity, the one
    number that says how good a language model is.

    Incremental decoding uses the same interface as `TransformerLanguageModel`:
    `context_length` is `None` (no limit: the state summarizes all the past),
    `init_cache(batch_size, max_length=None)` returns zero states
    `(batch_size, num_layers, 2, hidden_dim)` (h then c, per layer; `max_length` is ignored), and
    `call_with_cache(token_ids, cache, index)` runs `token_ids` `(batch_size, n)` from that state
    and returns `(logits, cache)` (`index` is ignored).

    State across batches (`stateful=True`): the classic Penn Treebank setup (Zaremba et al.,
    2014) cuts one long token stream into `batch_size` contiguous rows and trains on consecutive
    windows, carrying each row's final (h, c) into the next batch (truncated backpropagation
    through time: no gradient flows across the boundary). For this the data must be arranged so
    that row i of batch k+1 continues row i of batch k, every batch has exactly `batch_size` rows
    (`drop_remainder=True`), and `model.reset_states()` is called at the start of each epoch
    and before evaluation. The carried state lives in a non-trainable variable of the model;
    `call_with_cache` never reads or changes it.

    Args:
        vocabulary_size: number of token ids.
        embedding_dim: size of the token embedding.
        hidden_dim: units of each LSTM layer.
        num_layers: number of stacked LSTM layers.
        dropout: dropout rate on the embedding and between layers (not on the recurrent
            connections, which would rule out the fused kernels).
        stateful: carry the final state of each batch into the next one (see above).
        batch_size: the fixed batch size; required when `stateful=True`.
        init_scale: None keeps Keras's initializers (Glorot / orthogonal, forget-gate bias 1);
            a float `s` draws every weight matrix (embedding, LSTM kernels, head) uniformly
            from `[-s, s]` with zero biases and no forget-gate bias, as Zaremba et al. (2014)
            and TensorFlow's `ptb_word_lm` initialise (0.1 small, 0.05 medium, 0.04 large).
        **kwargs: `keras.Model` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> model = LSTMLanguageModel(vocabulary_size=65, embedding_dim=16, hidden_dim=32,
    ...                           num_layers=2)
    >>> token_ids = np.array([[5, 12, 7]])
    >>> logits = model(token_ids)
    >>> tuple(logits.shape)
    (1, 3, 65)
    >>> cache = model.init_cache(batch_size=1)
    >>> tuple(cache.shape)
    (1, 2, 2, 32)
    >>> step_logits, cache = model.call_with_cache(token_ids, cache, 0)
    >>> bool(np.allclose(step_logits, logits, atol=1e-5))
    True

    References:
        Hochreiter and Schmidhuber, 1997, "Long Short-Term Memory".
        Zaremba et al., 2014, "Recurrent Neural Network Regularization",
        https://arxiv.org/abs/1409.2329
    """

    # The model-kind interface (see `tlm.models.registry`).
    kind = "lstm"
    label = "LSTM"
    presets = LSTM_PRESETS
    context_argument = None  # the state carries the whole past: any input length
    trains_faster_with_xla = False  # XLA cannot fuse the recurrence and runs it slower

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        num_layers,
        dropout=0.0,
        stateful=False,
        batch_size=None,
        init_scale=None,
        **kwargs,
    ):
        for name, value in [
            ("vocabulary_size", vocabulary_size),
            ("embedding_dim", embedding_dim),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
        ]:
            check_positive_int(name, value)
        check_rate("dropout", dropout)
        if stateful:
            if batch_size is None:
                raise ValueError(
                    "`batch_size` must be set when `stateful=True`. Received: batch_size=None"
                )
            check_positive_int("batch_size", batch_size)
        if init_scale is not None and not (
            isinstance(init_scale, int | float)
            and not isinstance(init_scale, bool)
            and init_scale > 0
        ):
            raise ValueError(
                f"`init_scale` must be None or a number > 0. Received: init_scale={init_scale!r}"
            )
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.dropout = dropout
        self.stateful = stateful
        self.batch_size = batch_size
        self.init_scale = init_scale

        def uniform(default):
            """`default` (Keras's initializer), or uniform in [-init_scale, init_scale]."""
            if init_scale is None:
                return default
            return keras.initializers.RandomUniform(-init_scale, init_scale)

        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=uniform("uniform"),
            dtype=self.dtype_policy,
            name="embedding",
        )
        lstm_initializers = {
            "kernel_initializer": uniform("glorot_uniform"),
            "recurrent_initializer": uniform("orthogonal"),
            "unit_forget_bias": init_scale is None,
        }
        self.lstm_layers = [
            keras.layers.LSTM(
                hidden_dim,
                return_sequences=True,
                return_state=True,
                **lstm_initializers,
                dtype=self.dtype_policy,
                name=f"lstm_{i}",
            )
            for i in range(num_layers)
        ]
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        # float32 logits under mixed precision: the softmax over the vocabulary needs the range.
        self.head = keras.layers.Dense(
            vocabulary_size,
            kernel_initializer=uniform("glorot_uniform"),
            dtype="float32",
            name="head",
        )

    @property
    def context_length(self):
        """`None`: the recurrent state carries the whole past, there is no window."""
        return None

    def build(self, input_shape=None):
        self.embedding.build()
        shape = (None, None, self.embedding_dim)
        for lstm in self.lstm_layers:
            lstm.build(shape)
            shape = (None, None, self.hidden_dim)
        self.head.build(shape)
        if self.stateful:
            self.carried_state = self.add_weight(
                name="carried_state",
                shape=(self.batch_size, self.num_layers, 2, self.hidden_dim),
                initializer="zeros",
                trainable=False,
            )

    def reset_states(self):
        """Zero the carried state (`stateful=True`): at each epoch start and before evaluating."""
        if self.stateful:
            self.carried_state.assign(ops.zeros_like(self.carried_state))

    def _run(self, token_ids, state, training=None):
        """Embedding, LSTMs from `state` `(batch_size, num_layers, 2, hidden_dim)`, head."""
        x = self.dropout_layer(self.embedding(token_ids), training=training)
        final_states = []
        unroll = _should_unroll(token_ids.shape[1])
        for i, lstm in enumerate(self.lstm_layers):
            lstm.unroll = unroll
            # x: (batch_size, time, hidden_dim); h and c: (batch_size, hidden_dim).
            x, h, c = lstm(x, initial_state=[state[:, i, 0], state[:, i, 1]], training=training)
            x = self.dropout_layer(x, training=training)
            final_states.append(ops.stack([h, c], axis=1))
        # (batch_size, time, vocabulary_size), float32.
        return self.head(x), ops.stack(final_states, axis=1)

    def call(self, token_ids, training=None):
        if self.stateful:
            state = ops.stop_gradient(ops.convert_to_tensor(self.carried_state))
            logits, final_state = self._run(token_ids, state, training=training)
            self.carried_state.assign(ops.cast(final_state, self.carried_state.dtype))
            return logits
        batch_size = ops.shape(token_ids)[0]
        return self._run(token_ids, self.init_cache(batch_size), training=training)[0]

    def init_cache(self, batch_size, max_length=None):
        """Zero states `(batch_size, num_layers, 2, hidden_dim)`; `max_length` is ignored."""
        shape = (batch_size, self.num_layers, 2, self.hidden_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def call_with_cache(self, token_ids, cache, index=None):
        """Run `token_ids` `(batch_size, n)` from the state `cache`; returns `(logits, cache)`."""
        logits, cache = self._run(token_ids, cache)
        return logits, ops.cast(cache, self.compute_dtype)

    def flops_per_token(self, training=True):
        """`2 * N` forward, 3x for training; `N` leaves out the embedding table (a lookup)."""
        forward = 2 * (count_parameters(self) - self.vocabulary_size * self.embedding_dim)
        return 3 * forward if training else forward

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                "stateful": self.stateful,
                "batch_size": self.batch_size,
                "init_scale": self.init_scale,
            }
        )
        return config


# The longest input whose recurrence is unrolled (see `_should_unroll`).
UNROLL_MAX_LENGTH = 128


def _should_unroll(length):
    """Unroll the recurrence into one graph of its steps, rather than a `while` loop?

    On a CPU, yes for an input of known length up to `UNROLL_MAX_LENGTH` (training windows,
    decoding chunks): the loop's per-step overhead dominates a small LSTM, and the unrolled
    graph trains the `nanogpt-cpu` preset faster on a 2-core CPU (batch 12, context 64; the
    LSTM rounds of `benchmarks/vs_nanogpt.py` time it). On a GPU, no: cuDNN's fused kernel
    needs the loop rolled. Longer or unknown lengths keep the loop, whose graph does not grow
    with the input.
    """
    if not isinstance(length, int) or length > UNROLL_MAX_LENGTH:
        return False
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")
