"""Solutions to the exercises of lesson 04, the Transformer language model
(notebooks/04_transformer_language_model.ipynb).

Each `exercise_N()` computes its answer with tlm and Keras at a small size, in a few seconds on a
CPU, and asserts what the exercise asks you to find.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
from keras import ops

from tlm.layers import sinusoidal_positions
from tlm.models import build_model, count_parameters

VOCABULARY_SIZE = 30
SEQUENCE_LENGTH = 16  # context of the tiny models
HIDDEN_DIM = 16
SMALL = {"sequence_length": SEQUENCE_LENGTH, "hidden_dim": HIDDEN_DIM, "intermediate_dim": 32}


def exercise_1():
    """Write the sinusoidal position encoding from its formula, and count what it saves.

    The 2017 Transformer's encoding of position p is, for each pair of features (2i, 2i + 1),
    PE(p, 2i) = sin(p / 10000^(2i/d)) and PE(p, 2i + 1) = cos(p / 10000^(2i/d)), with d the
    hidden size. Compute it with NumPy and check it against `sinusoidal_positions`. Then build
    the tiny model with `position_embedding="sinusoidal"` and with the default learned table:
    the fixed encoding has no weights, so the learned model has exactly
    sequence_length × hidden_dim parameters more.
    """
    positions = np.arange(SEQUENCE_LENGTH)[:, None]  # (time, 1)
    pair = np.arange(HIDDEN_DIM) // 2  # i of features 2i and 2i + 1
    angles = positions / 10000 ** (2 * pair / HIDDEN_DIM)  # (time, hidden_dim)
    by_hand = np.where(np.arange(HIDDEN_DIM) % 2 == 0, np.sin(angles), np.cos(angles))
    library = ops.convert_to_numpy(sinusoidal_positions(np.arange(SEQUENCE_LENGTH), HIDDEN_DIM))
    np.testing.assert_allclose(library, by_hand, rtol=1e-5, atol=1e-5)

    learned = build_model("transformer", VOCABULARY_SIZE, preset="tiny", **SMALL)
    fixed = build_model(
        "transformer", VOCABULARY_SIZE, preset="tiny", position_embedding="sinusoidal", **SMALL
    )
    difference = count_parameters(learned) - count_parameters(fixed)
    assert difference == SEQUENCE_LENGTH * HIDDEN_DIM, difference
    print(f"sinusoidal_positions == the formula; learned positions cost {difference} parameters")


def exercise_2():
    """Check that decoding with the key/value cache gives the logits of the full pass.

    Run a window through the tiny model in one call, then again one token at a time with
    `init_cache` and `call_with_cache`, each call attending to the cached keys and values of the
    earlier positions. The logits are the same at every position: the cache changes the cost
    of generation (lesson 05), not its result.
    """
    model = build_model("transformer", VOCABULARY_SIZE, preset="tiny", **SMALL)
    length = SEQUENCE_LENGTH // 2  # a window shorter than the context: the cache has room
    x = np.random.default_rng(0).integers(0, VOCABULARY_SIZE, size=(2, length))
    full = ops.convert_to_numpy(model(x))  # (batch_size, time, vocabulary_size)
    cache = model.init_cache(batch_size=len(x))
    steps = []
    for t in range(length):
        logits, cache = model.call_with_cache(x[:, t : t + 1], cache, t)
        steps.append(ops.convert_to_numpy(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-4, atol=1e-5)
    print(f"{length} cached one-token steps == the full pass")


def exercise_3():
    """Measure what weight tying saves.

    Build the tiny model with its output projection tied to the token embedding (the default)
    and untied (`tie_weights=False`). Untying adds one `(hidden_dim, vocabulary_size)` matrix,
    exactly vocabulary_size × hidden_dim parameters: for a small model and a large vocabulary,
    a large share of the whole.
    """
    tied = build_model("transformer", VOCABULARY_SIZE, preset="tiny", **SMALL)
    untied = build_model("transformer", VOCABULARY_SIZE, preset="tiny", tie_weights=False, **SMALL)
    difference = count_parameters(untied) - count_parameters(tied)
    assert difference == VOCABULARY_SIZE * HIDDEN_DIM, difference
    share = difference / count_parameters(untied)
    print(f"untying adds {difference:,} parameters, {share:.0%} of the untied model")


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2, exercise_3):
        exercise()
