"""Choosing the next token: greedy, top-k, top-p, temperature and a repetition penalty.

A language model gives, at each step, logits over the vocabulary; a *sampler* turns them into one
token. The token choice itself comes from `keras_hub.samplers` (`GreedySampler`, `TopKSampler`,
`TopPSampler`); this module adds what they lack (a temperature and a repetition penalty that are
tensors, so changing them does not retrace the compiled loop; a seed that is reset on every call,
so the same seed gives the same text) and keeps a short hand-written greedy and top-k for reading,
tested to pick the same tokens as the library's under the same seed.

Taught in notebooks/05_text_generation.ipynb.
"""

import numbers

import keras
import keras_hub
from keras import ops

from tlm.checks import check_choice, check_optional_positive_int, check_positive_number

STRATEGIES = ("greedy", "top_k", "top_p")

# Defaults when a strategy is chosen without its parameter.
DEFAULT_TOP_K = 10
DEFAULT_TOP_P = 0.9


def check_sampling_arguments(
    strategy, top_k=None, top_p=None, temperature=1.0, repetition_penalty=None, vocabulary_size=None
):
    """Raise a `ValueError` naming the argument, the rule and the value, before any work starts.

    Args:
        strategy: one of `STRATEGIES`.
        top_k: `None` or an int in `[1, vocabulary_size]`.
        top_p: `None` or a float in `(0, 1]`.
        temperature: a finite float `> 0`.
        repetition_penalty: `None` or a finite float `> 0` (1 changes nothing).
        vocabulary_size: the model's vocabulary size, to bound `top_k`; `None` skips that bound.

    Example:

    >>> check_sampling_arguments("top_k", top_k=0)
    Traceback (most recent call last):
    ...
    ValueError: `top_k` must be None or an integer of at least 1. Received: top_k=0
    """
    check_choice("strategy", strategy, STRATEGIES)
    check_optional_positive_int("top_k", top_k)
    if top_k is not None and vocabulary_size is not None and top_k > vocabulary_size:
        raise ValueError(
            "`top_k` must not exceed the vocabulary size. "
            f"Received: top_k={top_k}, vocabulary_size={vocabulary_size}"
        )
    if top_p is not None and not (isinstance(top_p, numbers.Real) and 0 < top_p <= 1):
        raise ValueError(f"`top_p` must be in (0, 1]. Received: top_p={top_p!r}")
    check_positive_number("temperature", temperature)
    check_positive_number("repetition_penalty", repetition_penalty, optional=True)


def make_sampler(strategy, top_k=None, top_p=None):
    """The `keras_hub.samplers.Sampler` that picks tokens for `strategy`.

    Only its `get_next_token(probabilities)` is used: the decoding loop, the temperature and the
    stopping live in `tlm.generation.decoder`. Its seed is set per call with `reset_seed`.

    Args:
        strategy: `"greedy"` (argmax), `"top_k"` (sample among the `top_k` most likely tokens,
            default 10) or `"top_p"` (sample from the smallest set of tokens whose probability
            sums to at least `top_p`, default 0.9; `top_k`, if given, first cuts to the k most
            likely, which is faster for large vocabularies).
        top_k: see `strategy`.
        top_p: see `strategy`.

    Example:

    >>> type(make_sampler("top_k", top_k=5)).__name__
    'TopKSampler'
    """
    check_sampling_arguments(strategy, top_k=top_k, top_p=top_p)
    if strategy == "greedy":
        return keras_hub.samplers.GreedySampler()
    if strategy == "top_k":
        return keras_hub.samplers.TopKSampler(k=top_k or DEFAULT_TOP_K, seed=0)
    return keras_hub.samplers.TopPSampler(p=top_p or DEFAULT_TOP_P, k=top_k, seed=0)


def reset_seed(sampler, seed):
    """Restart `sampler`'s random stream at `seed`, so the same seed draws the same tokens.

    keras_hub samplers draw from a `keras.random.SeedGenerator` whose state `[seed, counter]`
    feeds a stateless random op at every step; setting it back to `[seed, 0]` replays the same
    draws. Greedy samplers have no generator and are left alone.
    """
    generator = getattr(sampler, "seed_generator", None)
    if generator is not None:
        generator.state.assign(ops.cast([seed, 0], generator.state.dtype))


def apply_temperature(logits, temperature):
    """Divide logits by the temperature: below 1 sharpens the distribution, above 1 flattens it.

    As the temperature goes to 0, sampling approaches greedy decoding.
    """
    return logits / ops.cast(temperature, logits.dtype)


def apply_repetition_penalty(logits, seen, penalty):
    """Make tokens that already appeared less likely (CTRL, Keskar et al., 2019).

    For every token with `seen == 1`, a positive logit is divided by `penalty` and a negative one
    multiplied by it, so with `penalty > 1` its probability always drops, with `penalty < 1` it
    rises, and `penalty == 1` changes nothing. Tokens never seen keep their logits.

    Args:
        logits: `(batch_size, vocabulary_size)` float.
        seen: `(batch_size, vocabulary_size)` float, 1 where the token is in the prompt or in the
            text generated so far, else 0.
        penalty: a scalar float.

    Example:

    >>> import numpy as np
    >>> logits = np.array([[2.0, -2.0, 1.0]], "float32")
    >>> seen = np.array([[1.0, 1.0, 0.0]], "float32")
    >>> np.asarray(apply_repetition_penalty(logits, seen, 2.0)).tolist()
    [[1.0, -4.0, 1.0]]
    """
    penalty = ops.cast(penalty, logits.dtype)
    penalized = ops.where(logits > 0, logits / penalty, logits * penalty)
    return ops.where(seen > 0, penalized, logits)


# Hand-written token choice, for reading (notebook 05). The loop uses the keras_hub samplers;
# tests check these pick the same tokens.


def greedy_next_token(logits):
    """Greedy decoding: always the single most likely token. `(batch, vocab)` -> `(batch,)`.

    Deterministic, and prone to loops ("the the the") because it never explores.

    Example:

    >>> import numpy as np
    >>> np.asarray(greedy_next_token(np.array([[0.1, 2.0, -1.0]], "float32"))).tolist()
    [1]
    """
    return ops.cast(ops.argmax(logits, axis=-1), "int32")


def top_k_next_token(logits, k, seed, temperature=1.0):
    """Top-k sampling: keep the `k` most likely tokens and sample among them by probability.

    Args:
        logits: `(batch_size, vocabulary_size)` float.
        k: how many candidates to keep.
        seed: an int or a `keras.random.SeedGenerator` (the same one gives the same draws as
            `keras_hub.samplers.TopKSampler` with the same state).
        temperature: divides the logits first.

    Returns:
        `(batch_size,)` int32 token ids.
    """
    logits = apply_temperature(ops.cast(logits, "float32"), temperature)
    # (batch_size, k): the candidates. Unsorted, in the order keras_hub uses, so the same seed
    # picks the same candidate.
    top_logits, top_ids = ops.top_k(logits, k, sorted=False)
    # Sampling from the k logits is sampling from the renormalised k probabilities.
    choice = keras.random.categorical(top_logits, 1, seed=seed, dtype="int32")  # (batch_size, 1)
    return ops.take_along_axis(top_ids, choice, axis=-1)[:, 0]
