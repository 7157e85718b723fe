"""Solutions to the exercises of lesson 02, self-attention (notebooks/02_self_attention.ipynb).

Each `exercise_N()` computes its answer with tlm and Keras at a small size, in a few seconds on a
CPU, and asserts what the exercise asks you to find.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from keras import ops

from tlm.layers import CausalSelfAttention, scaled_dot_product_attention

SEQUENCE_LENGTH = 6  # positions of the toy sequence
HIDDEN_DIM = 8  # size of each toy vector
NUM_HEADS = 2
KEY_DIM = 4


def _toy_sequence(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1, SEQUENCE_LENGTH, HIDDEN_DIM)).astype("float32")


def exercise_1():
    """Show that the causal mask makes position t's output independent of later tokens.

    Run `CausalSelfAttention` on a toy sequence, then change every vector after position
    t = 2 and run it again: the outputs at positions 0..2 are unchanged, the later ones change.
    Without the mask (`keras.layers.MultiHeadAttention` with the same weights, no causal mask)
    the change reaches position 0 too.
    """
    t = 2
    x = _toy_sequence()
    changed = x.copy()
    changed[:, t + 1 :] = _toy_sequence(seed=1)[:, t + 1 :]

    causal = CausalSelfAttention(num_heads=NUM_HEADS, key_dim=KEY_DIM)
    before = ops.convert_to_numpy(causal(x))
    after = ops.convert_to_numpy(causal(changed))
    np.testing.assert_allclose(after[:, : t + 1], before[:, : t + 1], rtol=1e-6, atol=1e-6)
    assert not np.allclose(after[:, t + 1 :], before[:, t + 1 :], atol=1e-3)

    unmasked = keras.layers.MultiHeadAttention(num_heads=NUM_HEADS, key_dim=KEY_DIM)
    unmasked(x, x)  # build
    unmasked.set_weights(causal.get_weights())
    free_before = ops.convert_to_numpy(unmasked(x, x))
    free_after = ops.convert_to_numpy(unmasked(changed, changed))
    assert not np.allclose(free_after[:, 0], free_before[:, 0], atol=1e-3)
    print(f"causal: positions 0..{t} unchanged; without the mask position 0 changes too")


def exercise_2():
    """Show that attention without positions ignores word order: it is permutation-equivariant.

    Shuffle the positions of a toy sequence and run attention without a mask on both: the
    outputs are the same vectors, shuffled the same way. Attention alone cannot tell "dog bites
    man" from "man bites dog"; that is why a Transformer adds position embeddings (lesson 04).
    """
    x = _toy_sequence()
    permutation = np.random.default_rng(2).permutation(SEQUENCE_LENGTH)
    layer = keras.layers.MultiHeadAttention(num_heads=NUM_HEADS, key_dim=KEY_DIM)
    output = ops.convert_to_numpy(layer(x, x))
    shuffled = x[:, permutation]
    output_of_shuffled = ops.convert_to_numpy(layer(shuffled, shuffled))
    np.testing.assert_allclose(output_of_shuffled, output[:, permutation], rtol=1e-5, atol=1e-6)
    print("attention(shuffled x) == shuffled attention(x), permutation", permutation.tolist())


def exercise_3():
    """Show that masked attention weights are exactly zero and each row still sums to 1.

    With a causal mask, `scaled_dot_product_attention` returns weights whose upper triangle is
    exactly 0 (not merely small) and whose rows each sum to 1 over the allowed keys; row 0 puts
    all its weight on position 0.
    """
    rng = np.random.default_rng(3)
    q, k, v = (rng.normal(size=(1, SEQUENCE_LENGTH, KEY_DIM)).astype("float32") for _ in range(3))
    mask = np.tril(np.ones((SEQUENCE_LENGTH, SEQUENCE_LENGTH), dtype=bool))[None]
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    weights = ops.convert_to_numpy(weights)[0]  # (time, time)
    assert np.all(weights[~mask[0]] == 0.0), "a masked weight is not exactly zero"
    np.testing.assert_allclose(weights.sum(axis=1), np.ones(SEQUENCE_LENGTH), rtol=1e-6)
    assert weights[0, 0] == 1.0
    print("upper triangle exactly 0, rows sum to 1")


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2, exercise_3):
        exercise()
