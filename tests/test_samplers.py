"""Token choice on hand-made logits: greedy, top-k, top-p, temperature, repetition penalty."""

import keras
import numpy as np
import pytest

from tlm.generation import samplers
from tlm.generation.samplers import (
    STRATEGIES,
    apply_repetition_penalty,
    check_sampling_arguments,
    greedy_next_token,
    make_sampler,
    reset_seed,
    top_k_next_token,
)


def _probabilities(logits, temperature=1.0):
    return keras.ops.softmax(np.asarray(logits, "float32") / temperature, axis=-1)


def _draws(sampler, logits, rows=2000, seed=0):
    """Many samples at once: the same logits repeated over a batch of `rows`."""
    reset_seed(sampler, seed)
    batch = np.repeat(np.asarray(logits, "float32")[None], rows, axis=0)
    return np.asarray(sampler.get_next_token(_probabilities(batch)))


def test_strategies_are_greedy_top_k_top_p():
    assert STRATEGIES == ("greedy", "top_k", "top_p")


def test_hand_written_greedy_picks_the_same_tokens_as_keras_hub():
    logits = np.random.default_rng(0).normal(size=(32, 50)).astype("float32")
    library = make_sampler("greedy").get_next_token(_probabilities(logits))
    np.testing.assert_array_equal(greedy_next_token(logits), np.asarray(library))


def test_hand_written_top_k_picks_the_same_tokens_as_keras_hub_under_the_same_seed():
    logits = 3 * np.random.default_rng(0).normal(size=(64, 50)).astype("float32")
    library = make_sampler("top_k", top_k=7)
    reset_seed(library, 3)
    seed = keras.random.SeedGenerator(3)
    for _ in range(5):
        ours = top_k_next_token(logits, 7, seed, temperature=0.8)
        theirs = library.get_next_token(_probabilities(logits, temperature=0.8))
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_top_k_never_emits_a_token_outside_the_k_most_likely():
    logits = np.array([0.0, 3.0, -1.0, 2.5, 2.0, 1.0, -2.0, 0.5], "float32")
    tokens = _draws(make_sampler("top_k", top_k=3), logits)
    assert set(tokens.tolist()) == {1, 3, 4}  # all three drawn, nothing else


def test_top_p_never_emits_a_token_outside_the_nucleus():
    # Probabilities 0.5, 0.3, 0.15, 0.05: the smallest set reaching 0.75 is tokens {0, 1}.
    logits = np.log(np.array([0.05, 0.3, 0.5, 0.15], "float32"))
    tokens = _draws(make_sampler("top_p", top_p=0.75), logits)
    assert set(tokens.tolist()) == {1, 2}
    # top_p=1 keeps every token.
    assert set(_draws(make_sampler("top_p", top_p=1.0), logits).tolist()) == {0, 1, 2, 3}


def test_low_temperature_approaches_greedy():
    logits = np.random.default_rng(1).normal(size=(16, 30)).astype("float32")
    sampler = make_sampler("top_k", top_k=30)
    reset_seed(sampler, 0)
    hot = np.asarray(sampler.get_next_token(_probabilities(logits, temperature=1.0)))
    cold = np.asarray(sampler.get_next_token(_probabilities(logits, temperature=1e-3)))
    greedy = np.argmax(logits, axis=-1)
    np.testing.assert_array_equal(cold, greedy)
    assert (hot != greedy).any()


def test_same_seed_same_draws_and_different_seeds_different_draws():
    logits = np.zeros((50,), "float32")
    sampler = make_sampler("top_k", top_k=50)
    first, again = _draws(sampler, logits, 64, seed=1), _draws(sampler, logits, 64, seed=1)
    np.testing.assert_array_equal(first, again)
    assert (first != _draws(sampler, logits, 64, seed=2)).any()


def test_repetition_penalty_lowers_seen_tokens_and_raises_the_others():
    logits = np.array([[2.0, -1.0, 0.5, 1.0]], "float32")
    seen = np.array([[1.0, 1.0, 0.0, 0.0]], "float32")
    before = np.asarray(_probabilities(logits))[0]
    penalized = np.asarray(apply_repetition_penalty(logits, seen, 1.5))
    np.testing.assert_allclose(penalized, [[2.0 / 1.5, -1.5, 0.5, 1.0]])
    after = np.asarray(_probabilities(penalized))[0]
    assert (after[:2] < before[:2]).all() and (after[2:] > before[2:]).all()
    # A penalty of 1 changes nothing.
    np.testing.assert_array_equal(apply_repetition_penalty(logits, seen, 1.0), logits)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "beam"}, r"`strategy` must be one of 'greedy', 'top_k', 'top_p'.*beam"),
        ({"top_k": 0}, r"`top_k` must be None or an integer of at least 1. Received: top_k=0$"),
        ({"top_k": 66}, r"`top_k` must not exceed the vocabulary size.*top_k=66"),
        ({"top_p": 0.0}, r"`top_p` must be in \(0, 1\]. Received: top_p=0.0"),
        ({"top_p": 1.5}, r"`top_p` must be in \(0, 1\]. Received: top_p=1.5"),
        (
            {"temperature": 0},
            r"`temperature` must be a finite number greater than 0. Received: temperature=0$",
        ),
        (
            {"temperature": -1.0},
            r"`temperature` must be a finite number greater than 0. Received: temperature=-1.0$",
        ),
        (
            {"temperature": float("inf")},
            r"`temperature` must be a finite number greater than 0. Received: temperature=inf$",
        ),
        (
            {"repetition_penalty": 0},
            r"`repetition_penalty` must be None or a finite number greater than 0. "
            r"Received: repetition_penalty=0$",
        ),
    ],
)
def test_bad_sampling_arguments_raise_clear_errors(kwargs, message):
    arguments = {"strategy": "top_k", "vocabulary_size": 65, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_sampling_arguments(**arguments)


def test_defaults_for_top_k_and_top_p():
    assert make_sampler("top_k").k == samplers.DEFAULT_TOP_K
    assert make_sampler("top_p").p == samplers.DEFAULT_TOP_P
