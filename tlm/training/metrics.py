"""Perplexity as a Keras metric: exp(sum of token cross-entropy / number of tokens).

Taught in notebooks/03_lstm_language_model.ipynb. The metric keeps two running totals, the
summed cross-entropy (nats) and the number of scored tokens, and only takes the exponential in
`result()`. That makes it exact over a whole dataset whatever the batch sizes: the average of
per-batch perplexities would weight a short last batch like a full one, and exp of an average
is not the average of exps anyway.

`keras_hub.metrics.Perplexity` already accumulates exactly this way (a sum and a count, with a
`mask_token_id` and `sample_weight` mask), so tlm builds on it and only changes the defaults a
language model wants: logits in, and a serialisable `tlm>Perplexity` name.
"""

import keras
import keras_hub


@keras.saving.register_keras_serializable(package="tlm")
class Perplexity(keras_hub.metrics.Perplexity):
    """Exact perplexity of next-token predictions, accumulated over batches.

    `update_state(y_true, y_pred, sample_weight=None)` takes integer targets
    `(batch_size, sequence_length)` and logits (or probabilities)
    `(batch_size, sequence_length, vocabulary_size)`. Tokens whose target equals
    `mask_token_id`, or whose `sample_weight` is 0, are neither scored nor counted, so padding
    never lowers (or raises) the figure. `result()` is `exp(total nats / total tokens)`; it is 0
    before any token was seen.

    Args:
        from_logits: bool. True (the default) when `y_pred` holds logits, as tlm models return.
        mask_token_id: int or None. Target id to ignore, usually the tokenizer's `pad_id` (0).
        dtype: float dtype of the two running totals. Defaults to "float32".
        name: metric name, "perplexity" by default (Keras logs `val_perplexity` for
            validation).
        **kwargs: passed to `keras.metrics.Metric`.

    Example:

    >>> import numpy as np
    >>> metric = Perplexity()
    >>> logits = np.zeros((2, 3, 5), "float32")  # uniform over 5 tokens
    >>> metric.update_state(np.ones((2, 3), "int32"), logits)
    >>> round(float(metric.result()), 4)
    5.0
    """

    def __init__(
        self, from_logits=True, mask_token_id=None, dtype="float32", name="perplexity", **kwargs
    ):
        super().__init__(
            from_logits=from_logits, mask_token_id=mask_token_id, dtype=dtype, name=name, **kwargs
        )
