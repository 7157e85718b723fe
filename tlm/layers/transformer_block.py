"""One decoder block of a GPT-style Transformer: causal self-attention and a feed-forward network.

Taught in notebooks/04_transformer_language_model.ipynb.
"""

import keras

from tlm.checks import check_positive_int, check_rate
from tlm.layers.attention import CausalSelfAttention, head_dim_for


@keras.saving.register_keras_serializable(package="tlm")
class TransformerBlock(keras.layers.Layer):
    """A decoder block: causal self-attention and a GELU MLP, each with a residual connection.

    Pre-norm (the default, as in GPT-2 and nanoGPT) normalizes the input of each sub-layer and
    keeps the residual path clean, which trains stably without learning-rate warmup tricks:

        x = x + dropout(attention(layer_norm_1(x)))
        x = x + dropout(mlp(layer_norm_2(x)))

    Post-norm (`norm_first=False`, the original 2017 Transformer) normalizes after each residual
    sum instead: `x = layer_norm_1(x + dropout(attention(x)))`, and the same for the MLP.

    The feed-forward network is `Dense(intermediate_dim, gelu) -> Dense(hidden_dim)`, where
    `hidden_dim` is the input's last dimension. The `cache`, `cache_index`, `cache_layer` and
    `return_attention_scores` arguments are passed to `CausalSelfAttention`, and the block returns
    what it returns: `x`, or a tuple `(x, [scores], [cache])`.

    Args:
        num_heads: number of attention heads; must divide the input's `hidden_dim`.
        intermediate_dim: width of the feed-forward network (usually `4 * hidden_dim`).
        dropout: dropout rate on the attention weights and on each sub-layer's output.
        norm_first: pre-norm (`True`) or post-norm (`False`).
        activation: the feed-forward activation; `"gelu"` is the exact (erf) GELU.
        layer_norm_epsilon: epsilon of the layer normalizations.
        use_formula: run attention through `scaled_dot_product_attention`.
        kernel_initializer: initializer of the projection kernels (normal, std 0.02, as GPT-2).
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> block = TransformerBlock(num_heads=2, intermediate_dim=32)
    >>> tuple(block(np.zeros((2, 5, 8), dtype="float32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        norm_first=True,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        use_formula=False,
        kernel_initializer=None,
        **kwargs,
    ):
        check_positive_int("num_heads", num_heads)
        check_positive_int("intermediate_dim", intermediate_dim)
        check_rate("dropout", dropout)
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_formula = use_formula
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(stddev=0.02)
        )

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        head_dim = head_dim_for(hidden_dim, self.num_heads)

        def initializer():
            # A fresh instance per kernel, so the kernels do not start identical.
            return self.kernel_initializer.__class__.from_config(
                self.kernel_initializer.get_config()
            )

        common = {"dtype": self.dtype_policy}
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="attention_norm", **common
        )
        self.attention = CausalSelfAttention(
            num_heads=self.num_heads,
            key_dim=head_dim,
            dropout=self.dropout,
            use_formula=self.use_formula,
            kernel_initializer=initializer(),
            name="attention",
            **common,
        )
        self.mlp_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="mlp_norm", **common
        )
        self.mlp_up = keras.layers.Dense(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=initializer(),
            name="mlp_up",
            **common,
        )
        self.mlp_down = keras.layers.Dense(
            hidden_dim, kernel_initializer=initializer(), name="mlp_down", **common
        )
        self.output_dropout = keras.layers.Dropout(self.dropout, **common)

        self.attention_norm.build(input_shape)
        self.attention.build(input_shape)
        self.mlp_norm.build(input_shape)
        self.mlp_up.build(input_shape)
        self.mlp_down.build((*input_shape[:-1], self.intermediate_dim))

    def call(
        self,
        inputs,
        cache=None,
        cache_index=None,
        cache_layer=None,
        return_attention_scores=False,
        training=None,
    ):
        x = inputs  # (batch_size, time, hidden_dim)
        attention_input = self.attention_norm(x) if self.norm_first else x
        outputs = self.attention(
            attention_input,
            cache=cache,
            cache_index=cache_index,
            cache_layer=cache_layer,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        extras = ()
        if isinstance(outputs, tuple):
            outputs, *extras = outputs
            extras = tuple(extras)
        x = x + self.output_dropout(outputs, training=training)
        if not self.norm_first:
            x = self.attention_norm(x)

        mlp_input = self.mlp_norm(x) if self.norm_first else x
        # (batch_size, time, intermediate_dim) and back to (batch_size, time, hidden_dim).
        mlp_output = self.mlp_down(self.mlp_up(mlp_input))
        x = x + self.output_dropout(mlp_output, training=training)
        if not self.norm_first:
            x = self.mlp_norm(x)
        return (x, *extras) if extras else x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "norm_first": self.norm_first,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "use_formula": self.use_formula,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
