"""Self-attention: the formula `softmax(QKᵀ/√d_k)V` and a causal multi-head layer with a KV cache.

Taught in notebooks/02_self_attention.ipynb.
"""

import keras
from keras import ops

from tlm.checks import check_positive_int, check_rate


def scaled_dot_product_attention(q, k, v, mask=None):
    """Scaled dot-product attention, `softmax(QKᵀ / √d_k) V`, written out step by step.

    This is the formula of "Attention Is All You Need" with `keras.ops`, for reading rather than
    speed; it is tested equal to `keras.ops.dot_product_attention` and to
    `keras.layers.MultiHeadAttention`. Any leading dimensions (batch, heads) are carried through:
    the last two axes are (positions, features).

    Args:
        q: queries, shape `(..., query_length, key_dim)`.
        k: keys, shape `(..., key_length, key_dim)`.
        v: values, shape `(..., key_length, value_dim)`.
        mask: optional boolean tensor broadcastable to `(..., query_length, key_length)`;
            `True` where a query may attend to a key. A causal mask is lower triangular.

    Returns:
        `(output, weights)`: output of shape `(..., query_length, value_dim)` and the attention
        weights of shape `(..., query_length, key_length)` (each row sums to 1), for plotting.

    Example:

    >>> import numpy as np
    >>> q = k = v = np.eye(3, dtype="float32")[None]  # (batch=1, positions=3, key_dim=3)
    >>> causal = np.tril(np.ones((3, 3), dtype=bool))
    >>> output, weights = scaled_dot_product_attention(q, k, v, mask=causal)
    >>> [round(float(w), 3) for w in weights[0, 1]]  # position 1 sees positions 0 and 1 only
    [0.36, 0.64, 0.0]
    """
    key_dim = ops.shape(q)[-1]
    # (..., query_length, key_length): how well each query matches each key.
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
    # Dividing by √d_k makes the scores' variance independent of d_k (a dot product of d_k
    # terms grows with d_k), so softmax does not saturate as the heads get wider.
    scores = scores / ops.sqrt(ops.cast(key_dim, scores.dtype))
    if mask is not None:
        # A large negative score becomes a weight of (almost exactly) zero after softmax.
        scores = ops.where(mask, scores, ops.cast(-1e9, scores.dtype))
    # Softmax in float32 even under mixed precision: exp() of bfloat16 scores is too coarse.
    weights = ops.cast(ops.softmax(ops.cast(scores, "float32"), axis=-1), v.dtype)
    # (..., query_length, value_dim): a weighted average of the values.
    output = ops.matmul(weights, v)
    return output, weights


def causal_mask(query_length, key_length, start_index=0):
    """Boolean mask `(1, query_length, key_length)`: query i (at `start_index + i`) sees keys <= it.

    Args:
        query_length: number of query positions.
        key_length: number of key positions (the cache length when decoding).
        start_index: position of the first query; an int or a scalar int tensor.
    """
    query_positions = ops.arange(query_length)[:, None] + ops.cast(start_index, "int32")
    key_positions = ops.arange(key_length)[None, :]
    return ops.expand_dims(ops.greater_equal(query_positions, key_positions), 0)


@keras.saving.register_keras_serializable(package="tlm")
class CausalSelfAttention(keras.layers.MultiHeadAttention):
    """Multi-head causal self-attention with a key/value cache for incremental decoding.

    A `keras.layers.MultiHeadAttention` (same weights, same projections) where the query, key and
    value are the same sequence and each position attends only to itself and earlier positions,
    by construction: there is no mask argument to forget.

    Three ways to call it:

    - `layer(x)`: training and scoring, `(batch_size, time, hidden_dim)` in and out.
    - `layer(x, cache=cache, cache_index=index)`: incremental decoding. `cache` has shape
      `(batch_size, 2, max_length, num_heads, key_dim)` (keys, then values). The keys and values of
      the `n` new positions are written into it at `index` (a Python int or a scalar tensor, so it
      runs inside `tf.function`/`tf.while_loop`), the queries attend to cache positions
      `<= index + i`, and `(output, cache)` is returned. The cache shape never changes.
      A model passes its cache of all layers, `(batch_size, num_layers, 2, max_length, ...)`,
      with `cache_layer=i`: only the new positions are written (in place under XLA), so a
      decoding step costs the same at any cache length and nothing is re-stacked.
    - `return_attention_scores=True` also returns the weights `(batch_size, num_heads, time, keys)`
      for plotting (after the output, before the cache).

    With `use_formula=True` the attention itself runs through `scaled_dot_product_attention`,
    the hand-written formula, instead of Keras's fused `ops.dot_product_attention` path; the
    results are equal (tested), only the speed differs.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head (`hidden_dim // num_heads` in a Transformer).
        dropout: dropout rate on the attention weights.
        use_formula: run `scaled_dot_product_attention` instead of the Keras kernel.
        **kwargs: other `keras.layers.MultiHeadAttention` arguments (`use_bias`,
            `kernel_initializer`, `name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = CausalSelfAttention(num_heads=2, key_dim=4)
    >>> x = np.random.rand(1, 5, 8).astype("float32")
    >>> tuple(layer(x).shape)
    (1, 5, 8)
    >>> cache = np.zeros((1, 2, 5, 2, 4), dtype="float32")
    >>> output, cache = layer(x[:, :3], cache=cache, cache_index=0)  # prefill 3 positions
    >>> output, cache = layer(x[:, 3:4], cache=cache, cache_index=3)  # then one more
    >>> bool(np.allclose(output, layer(x)[:, 3:4], atol=1e-5))
    True

    References:
        Vaswani et al., 2017, "Attention Is All You Need", https://arxiv.org/abs/1706.03762
    """

    def __init__(self, num_heads, key_dim, dropout=0.0, use_formula=False, **kwargs):
        check_positive_int("num_heads", num_heads)
        check_positive_int("key_dim", key_dim)
        check_rate("dropout", dropout)
        super().__init__(num_heads=num_heads, key_dim=key_dim, dropout=dropout, **kwargs)
        self.use_formula = use_formula

    def build(self, input_shape):
        # Self-attention: query, key and value all come from the same input.
        super().build(input_shape, input_shape)

    def call(
        self,
        inputs,
        cache=None,
        cache_index=None,
        cache_layer=None,
        return_attention_scores=False,
        training=None,
    ):
        # (batch_size, time, num_heads, key_dim) each.
        query = self._query_dense(inputs)
        key = self._key_dense(inputs)
        value = self._value_dense(inputs)

        mask = None
        if cache is not None:
            if cache_index is None:
                raise ValueError("`cache_index` must be given with `cache`. Received: None")
            # Write only the new positions: (batch_size, [1,] 2, n, num_heads, key_dim).
            new_entries = ops.cast(ops.stack((key, value), axis=1), cache.dtype)
            if cache_layer is None:
                cache = ops.slice_update(cache, [0, 0, cache_index, 0, 0], new_entries)
                layer_cache = cache
            else:
                start = [0, cache_layer, 0, cache_index, 0, 0]
                cache = ops.slice_update(cache, start, new_entries[:, None])
                layer_cache = cache[:, cache_layer]
            # (batch_size, max_length, num_heads, key_dim): the past plus the new positions.
            key, value = layer_cache[:, 0, ...], layer_cache[:, 1, ...]
            # Cache slots after the newest position are still zeros: the mask hides them too.
            mask = causal_mask(ops.shape(query)[1], ops.shape(key)[1], cache_index)

        if self.use_formula:
            if mask is None:
                mask = causal_mask(ops.shape(query)[1], ops.shape(key)[1])
            # The formula wants (batch_size, num_heads, time, key_dim); the mask gets a heads axis.
            query, key, value = (ops.transpose(t, (0, 2, 1, 3)) for t in (query, key, value))
            mask = ops.expand_dims(mask, 1)
            output, scores = scaled_dot_product_attention(query, key, value, mask)
            if self._dropout > 0.0:
                # As in Keras: the returned weights are before dropout, the output after it.
                output = ops.matmul(self._dropout_layer(scores, training=training), value)
            output = ops.transpose(output, (0, 2, 1, 3))
        else:
            output, scores = self._compute_attention(
                query,
                key,
                value,
                attention_mask=mask,
                training=training,
                return_attention_scores=return_attention_scores,
                use_causal_mask=mask is None,
            )
        # (batch_size, time, hidden_dim)
        output = self._output_dense(output)

        outputs = (output,)
        if return_attention_scores:
            outputs += (scores,)
        if cache is not None:
            outputs += (cache,)
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, **kwargs):
        # MultiHeadAttention's version expects (query, value, ...) and knows nothing of the cache:
        # skip it and Layer's shape shortcut, and trace `call` symbolically (Operation's default).
        return super(keras.layers.Layer, self).compute_output_spec(inputs, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"use_formula": self.use_formula})
        return config


def head_dim_for(hidden_dim, num_heads):
    """`hidden_dim // num_heads`, with a clear error unless it divides evenly."""
    check_positive_int("hidden_dim", hidden_dim)
    check_positive_int("num_heads", num_heads)
    if hidden_dim % num_heads:
        raise ValueError(
            "`hidden_dim` must be divisible by `num_heads`. "
            f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
        )
    return hidden_dim // num_heads
