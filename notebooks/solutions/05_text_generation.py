"""Solutions to the exercises of lesson 05, Text generation (05_text_generation.ipynb).

Each `exercise_N()` computes its answer at a small size (a tiny character Transformer with
random weights, a few lines of Shakespeare) and asserts what the exercise asks for. Run them all:

    python notebooks/solutions/05_text_generation.py
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import ops

from tlm.data import build_tokenizer
from tlm.generation import (
    apply_repetition_penalty,
    apply_temperature,
    generate,
    make_sampler,
)
from tlm.models import build_model

TEXT = """ROMEO:
But soft, what light through yonder window breaks?
It is the east, and Juliet is the sun.
Arise, fair sun, and kill the envious moon,
Who is already sick and pale with grief,
That thou her maid art far more fair than she.
"""
PROMPT = "ROMEO:\nBut soft"


def _tiny_model():
    """A character tokenizer on `TEXT` and an untrained one-block Transformer (random weights)."""
    tokenizer = build_tokenizer("char", [TEXT])
    keras.utils.set_random_seed(0)
    # The `tiny` preset with one block instead of two: decoding traces in about a second.
    model = build_model(
        "transformer", tokenizer.vocabulary_size, preset="tiny", sequence_length=32, num_layers=1
    )
    return model, tokenizer


def _softmax(logits):
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def exercise_1():
    """Top-p sampling with a tiny `top_p` keeps only the most likely token at every step.

    First on one distribution: the top-p sampler of `tlm.generation.make_sampler` with
    `top_p=1e-6` picks the most likely token whatever its seed, while with `top_p=1.0` (the
    whole distribution) some seeds pick another. Then on text: show that
    `generate(..., strategy="top_p", top_p=1e-6)` writes exactly the greedy text, for two seeds.
    """
    model, tokenizer = _tiny_model()
    ids = tokenizer.encode(PROMPT)[None, :]  # (1, prompt_length)
    probabilities = ops.softmax(model(ids)[:, -1, :])  # (1, vocabulary_size)
    most_likely = int(ops.convert_to_numpy(ops.argmax(probabilities, axis=-1))[0])
    picks = {}
    for top_p in (1e-6, 1.0):
        sampler = make_sampler("top_p", top_p=top_p)
        picks[top_p] = set()
        for seed in range(20):
            state = sampler.seed_generator.state  # restart its random stream at `seed`
            state.assign(ops.cast([seed, 0], state.dtype))
            token = sampler.get_next_token(probabilities)
            picks[top_p].add(int(ops.convert_to_numpy(token)[0]))
    assert picks[1e-6] == {most_likely}, picks[1e-6]
    # A random model's distribution is nearly flat: the whole of it rarely gives the top token.
    assert picks[1.0] != {most_likely}

    settings = dict(max_new_tokens=20, jit_compile=False)
    greedy = generate(model, tokenizer, PROMPT, strategy="greedy", **settings)
    for seed in (0, 1):
        nucleus = generate(
            model, tokenizer, PROMPT, strategy="top_p", top_p=1e-6, seed=seed, **settings
        )
        assert nucleus == greedy, (seed, nucleus, greedy)
    print(
        f"top_p=1e-6 picked {sorted(picks[1e-6])}, top_p=1.0 picked {len(picks[1.0])} "
        f"different tokens in 20 seeds; greedy and top_p=1e-6 wrote {greedy!r}"
    )


def exercise_2():
    """The temperature by hand.

    Take the model's logits for the character after the prompt. Compute softmax(z / T) with
    NumPy for T = 0.5, 1 and 2 and check it equals softmax of tlm's `apply_temperature`. Then
    check what the lesson claims: the lower the temperature, the more probability the most
    likely character gets and the lower the entropy of the distribution.
    """
    model, tokenizer = _tiny_model()
    ids = tokenizer.encode(PROMPT)[None, :]  # (1, prompt_length)
    logits = ops.convert_to_numpy(model(ids)[0, -1])  # (vocabulary_size,)
    top, entropies = [], []
    for temperature in (0.5, 1.0, 2.0):
        by_hand = _softmax(logits.astype("float64") / temperature)
        library = ops.convert_to_numpy(ops.softmax(apply_temperature(logits, temperature)))
        np.testing.assert_allclose(library, by_hand, rtol=1e-4, atol=1e-7)
        top.append(by_hand.max())
        entropies.append(-np.sum(by_hand * np.log2(by_hand)))
    assert top[0] > top[1] > top[2], top
    assert entropies[0] < entropies[1] < entropies[2], entropies
    print("top probability at T = 0.5, 1, 2:", np.round(top, 4))
    print("entropy in bits at T = 0.5, 1, 2:", np.round(entropies, 3))


def exercise_3():
    """The repetition penalty by hand (CTRL's rule, lesson 07 uses it on GPT-2).

    For the characters already in the prompt, divide a positive logit by the penalty and
    multiply a negative one by it; leave the others alone. Check the result equals tlm's
    `apply_repetition_penalty`, and that with a penalty of 1.5 every character of the prompt
    loses probability against every other character (its logit drops), the prompt's
    characters together lose probability, and every other character gains some. Must each
    of them, alone, become less likely? (No: one whose logit was near 0 barely drops, while
    the others it competes with drop more.)
    """
    model, tokenizer = _tiny_model()
    prompt_ids = tokenizer.encode(PROMPT)
    logits = ops.convert_to_numpy(model(prompt_ids[None, :])[0, -1])  # (vocabulary_size,)
    seen = np.zeros_like(logits)
    seen[np.unique(prompt_ids)] = 1.0
    penalty = 1.5
    by_hand = np.where(seen > 0, np.where(logits > 0, logits / penalty, logits * penalty), logits)
    library = ops.convert_to_numpy(apply_repetition_penalty(logits[None], seen[None], penalty))[0]
    np.testing.assert_allclose(library, by_hand, rtol=1e-6)
    before, after = _softmax(logits.astype("float64")), _softmax(by_hand.astype("float64"))
    # Every penalised logit drops; after the softmax a penalised character whose logit was
    # near 0 may still gain a little (the question's answer), as the others drop more.
    assert np.all(by_hand[seen > 0] < logits[seen > 0])
    assert after[seen > 0].sum() < before[seen > 0].sum()
    assert np.all(after[seen == 0] > before[seen == 0])
    gained = int(np.sum(after[seen > 0] > before[seen > 0]))
    print(
        f"{int(seen.sum())} prompt characters penalised: their probability "
        f"{before[seen > 0].sum():.3f} -> {after[seen > 0].sum():.3f}; "
        f"{gained} of them alone became more likely (so: not necessarily)"
    )


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2, exercise_3):
        exercise()
