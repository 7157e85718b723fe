"""Token plus position embeddings, and the (optionally tied) projection back to the vocabulary.

Taught in notebooks/04_transformer_language_model.ipynb.
"""

import keras
from keras import ops

from tlm.checks import check_choice, check_positive_int

POSITION_EMBEDDINGS = ("learned", "sinusoidal")


def sinusoidal_positions(positions, hidden_dim, max_wavelength=10000):
    """The fixed position encoding of "Attention Is All You Need", computed in float32.

    Even features are `sin(p / max_wavelength^(2i/hidden_dim))`, odd features the matching
    `cos`, so every position gets a unique pattern and relative offsets are linear maps.

    Args:
        positions: int tensor of positions, shape `(time,)`.
        hidden_dim: number of features.
        max_wavelength: the longest wavelength, 10,000 in the paper.

    Returns:
        float32 tensor of shape `(time, hidden_dim)`.
    """
    positions = ops.cast(positions, "float32")[:, None]
    pair_index = ops.cast(ops.arange(hidden_dim) // 2, "float32")
    frequencies = ops.power(float(max_wavelength), -2.0 * pair_index / hidden_dim)
    angles = positions * frequencies[None, :]
    is_odd = ops.arange(hidden_dim) % 2 == 1
    return ops.where(is_odd[None, :], ops.cos(angles), ops.sin(angles))


@keras.saving.register_keras_serializable(package="tlm")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Embeds token ids and adds a position embedding; also projects back to vocabulary logits.

    `layer(token_ids)` maps int ids `(batch_size, time)` to `(batch_size, time, hidden_dim)`:
    a token embedding (a `keras.layers.ReversibleEmbedding`) plus either learned position
    embeddings (a trainable `(sequence_length, hidden_dim)` table, as in GPT-2 and nanoGPT) or the
    fixed sinusoidal encoding. `start_index` shifts the positions, for decoding with a cache.

    `layer(hidden_states, reverse=True)` is the language-model head: float32 logits
    `(batch_size, time, vocabulary_size)`, computed in float32 even under mixed precision. With
    `tie_weights=True` (the default, as in GPT-2) it multiplies by the transposed token
    embedding, so the input and output share one matrix; otherwise it uses its own matrix.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest input (the number of learned positions).
        hidden_dim: size of each embedding vector.
        position_embedding: `"learned"` or `"sinusoidal"`.
        tie_weights: share the token embedding with the output projection.
        embeddings_initializer: initializer for the tables; a normal with standard deviation
            0.02 as in GPT-2.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = TokenAndPositionEmbedding(vocabulary_size=10, sequence_length=8, hidden_dim=4)
    >>> x = layer(np.array([[1, 2, 3]]))
    >>> tuple(x.shape), tuple(layer(x, reverse=True).shape)
    ((1, 3, 4), (1, 3, 10))

    References:
        Press and Wolf, 2017, "Using the Output Embedding to Improve Language Models",
        https://arxiv.org/abs/1608.05859
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        hidden_dim,
        position_embedding="learned",
        tie_weights=True,
        embeddings_initializer=None,
        **kwargs,
    ):
        check_positive_int("vocabulary_size", vocabulary_size)
        check_positive_int("sequence_length", sequence_length)
        check_positive_int("hidden_dim", hidden_dim)
        check_choice("position_embedding", position_embedding, POSITION_EMBEDDINGS)
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.position_embedding = position_embedding
        self.tie_weights = tie_weights
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02)
        )
        self.token_embedding = keras.layers.ReversibleEmbedding(
            vocabulary_size,
            hidden_dim,
            tie_weights=tie_weights,
            embeddings_initializer=self.embeddings_initializer,
            reverse_dtype="float32",
            dtype=self.dtype_policy,
            name="token_embedding",
        )

    def build(self, input_shape=None):
        self.token_embedding.build()
        if self.position_embedding == "learned":
            self.position_embeddings = self.add_weight(
                name="position_embeddings",
                shape=(self.sequence_length, self.hidden_dim),
                initializer=self.embeddings_initializer,
            )

    def call(self, inputs, start_index=0, reverse=False):
        if reverse:
            # (batch_size, time, vocabulary_size), float32.
            return self.token_embedding(inputs, reverse=True)
        length = inputs.shape[-1]
        if self.position_embedding == "learned" and length is not None:
            if length > self.sequence_length:
                raise ValueError(
                    "The input is longer than `sequence_length`. "
                    f"Received: input length={length}, sequence_length={self.sequence_length}"
                )
        length = ops.shape(inputs)[-1]
        # (batch_size, time, hidden_dim)
        tokens = self.token_embedding(inputs)
        if self.position_embedding == "learned":
            positions = ops.slice(
                self.position_embeddings, (start_index, 0), (length, self.hidden_dim)
            )
        else:
            positions = sinusoidal_positions(
                ops.arange(length) + ops.cast(start_index, "int32"), self.hidden_dim
            )
        return tokens + ops.cast(positions, tokens.dtype)[None]

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*input_shape[:-1], self.vocabulary_size)
        return (*input_shape, self.hidden_dim)

    def compute_output_spec(self, inputs, start_index=0, reverse=False):
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        return keras.KerasTensor(shape, dtype="float32" if reverse else self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "hidden_dim": self.hidden_dim,
                "position_embedding": self.position_embedding,
                "tie_weights": self.tie_weights,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            }
        )
        return config
