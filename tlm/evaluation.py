"""Evaluate a language model: cross-entropy, perplexity and bits per character / per word.

Taught in notebooks/03_lstm_language_model.ipynb and 06_lstm_vs_transformer.ipynb.

Perplexity is `exp(total nats / total tokens)`, summed over the whole dataset, never an average
of per-batch values. It depends on the tokenizer: a word model predicts fewer, harder tokens
than a char model, so their perplexities are not comparable. Bits per character are: the total
information the model needs to encode the text, divided by the length of the text,

    bits_per_character = total nats / (ln 2 * characters)
                       = bits_per_token / characters_per_token

where `characters = tokens * characters_per_token` and `characters_per_token` is the cleaned
text length over its number of tokens for that split (`LMData.characters_per_token`). Bits per
word use `words_per_token` the same way. The ratio is measured on the whole split; the scored
windows cover all of it but a partial last window, so the estimate is exact up to that edge.
"""

import functools
import math
import weakref

import tensorflow as tf

# Compiled evaluation steps per model, so that a callback evaluating every epoch never retraces.
_STEPS = weakref.WeakKeyDictionary()


def evaluate(
    model,
    dataset,
    characters_per_token=None,
    *,
    words_per_token=None,
    mask_token_id=None,
    steps=None,
):
    """Score `model` on every batch of `dataset`; return loss, perplexity and bits.

    Runs the model in inference mode (`training=False`, so no dropout) over `(x, y)` or
    `(x, y, sample_weight)` batches, sums the token cross-entropy of the logits in float64 on
    the host, and counts the scored tokens. Targets equal to `mask_token_id`, or with sample
    weight 0, are skipped.

    A stateful model (`stateful=True`, such as `LSTMLanguageModel(stateful=True)`) starts from a
    zero state and carries it through the dataset, whose batches must continue each other
    (`tlm.training.contiguous_batches(..., repeat=False)`); the state it had before the call
    is restored afterwards, so evaluating in the middle of training does not disturb it.

    Args:
        model: a callable `token_ids (batch, time) -> logits (batch, time, vocabulary_size)`.
        dataset: an iterable of batches (a `tf.data.Dataset`, e.g. `LMData.test`).
        characters_per_token: float or None. Adds "bits_per_character" when given.
        words_per_token: float or None. Adds "bits_per_word" when given.
        mask_token_id: int or None, usually the tokenizer's `pad_id`.
        steps: int or None, stop after this many batches.

    Returns:
        dict with "loss" (nats per token), "perplexity", "bits_per_token", "tokens", and
        "bits_per_character" / "bits_per_word" when asked.

    Example:

    >>> import keras, numpy as np, tensorflow as tf
    >>> model = keras.Sequential([keras.layers.Embedding(5, 5, embeddings_initializer="zeros")])
    >>> data = tf.data.Dataset.from_tensor_slices((np.ones((3, 4)), np.ones((3, 4)))).batch(2)
    >>> result = evaluate(model, data, characters_per_token=1.0)
    >>> round(result["perplexity"], 4), round(result["bits_per_character"], 4), result["tokens"]
    (5.0, 2.3219, 12)
    """
    nats, tokens = 0.0, 0.0
    step_function = _step_function(model, mask_token_id)
    # A stateful model reads the dataset from a zero state; its training state is put back after.
    carried = getattr(model, "carried_state", None) if getattr(model, "stateful", False) else None
    saved = tf.identity(carried) if carried is not None else None
    if carried is not None:
        model.reset_states()
    try:
        for index, batch in enumerate(dataset):
            if steps is not None and index >= steps:
                break
            x, y, weight = (tuple(batch) + (None,))[:3]
            if carried is not None and x.shape[0] != model.batch_size:
                raise ValueError(
                    "A stateful model evaluates batches of exactly its `batch_size` rows, each "
                    "row continuing the one of the batch before: use "
                    "`tlm.training.contiguous_batches(ids, sequence_length, batch_size, "
                    f"repeat=False)`. Received: a batch of {x.shape[0]} rows, "
                    f"batch_size={model.batch_size}"
                )
            if weight is None:
                weight = tf.ones_like(y, "float32")
            batch_nats, batch_tokens = step_function(x, y, tf.cast(weight, "float32"))
            nats += float(batch_nats)
            tokens += float(batch_tokens)
    finally:
        if carried is not None:
            carried.assign(saved)
    if tokens == 0:
        raise ValueError("`dataset` must contain at least one scored token. Received no tokens.")
    loss = nats / tokens
    result = {
        "loss": loss,
        "perplexity": math.exp(loss),
        "bits_per_token": loss / math.log(2),
        "tokens": int(tokens),
    }
    if characters_per_token:
        result["bits_per_character"] = result["bits_per_token"] / characters_per_token
    if words_per_token:
        result["bits_per_word"] = result["bits_per_token"] / words_per_token
    return result


def perplexity(model, dataset, *, mask_token_id=None, steps=None):
    """Exact perplexity of `model` on `dataset`: `exp(sum of cross-entropy / tokens)`.

    An untrained model that predicts uniformly has perplexity equal to the vocabulary size.

    Args:
        model: a callable `token_ids -> logits`.
        dataset: an iterable of `(x, y)` batches.
        mask_token_id: int or None, target id to skip (padding).
        steps: int or None, stop after this many batches.

    Example:

    >>> import keras, numpy as np, tensorflow as tf
    >>> model = keras.Sequential([keras.layers.Embedding(7, 7, embeddings_initializer="zeros")])
    >>> data = tf.data.Dataset.from_tensor_slices((np.ones((3, 4)), np.ones((3, 4)))).batch(2)
    >>> round(perplexity(model, data), 4)
    7.0
    """
    return evaluate(model, dataset, mask_token_id=mask_token_id, steps=steps)["perplexity"]


def _evaluation_step(model_ref, mask_token_id, x, y, weight):
    model = model_ref()
    logits = tf.cast(model(x, training=False), "float32")
    y = tf.cast(y, "int32")
    nats = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    if mask_token_id is not None:
        weight = weight * tf.cast(tf.not_equal(y, mask_token_id), "float32")
    return tf.reduce_sum(tf.cast(nats * weight, "float64")), tf.reduce_sum(weight)


def _step_function(model, mask_token_id):
    cache = _STEPS.setdefault(model, {})
    if mask_token_id not in cache:
        # A weak reference: the cache, keyed weakly by the model, must not keep it alive. A
        # partial per model: TensorFlow counts re-traces per function object, so one model's
        # step is counted on its own, not together with every other model's.
        cache[mask_token_id] = tf.function(
            functools.partial(_evaluation_step, weakref.ref(model), mask_token_id),
            reduce_retracing=True,
        )
    return cache[mask_token_id]


__all__ = ["evaluate", "perplexity"]
