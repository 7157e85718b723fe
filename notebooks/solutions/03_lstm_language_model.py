"""Solutions to the exercises of lesson 03, the LSTM language model
(notebooks/03_lstm_language_model.ipynb).

Each `exercise_N()` computes its answer with tlm and Keras at a small size, in a few seconds on a
CPU, and asserts what the exercise asks you to find.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

from tlm.models import LSTMLanguageModel, count_parameters

INPUT_DIM = 3  # features per time step of the toy recurrent layers
UNITS = 4  # units of the toy recurrent layers
TIME_STEPS = 5
VOCABULARY_SIZE = 30  # of the tiny language model of exercise 3


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _gru_step(x, h, kernel, recurrent_kernel, bias):
    """One `keras.layers.GRU` step (reset_after=True): kernel blocks [z, r, h], bias (2, 3u)."""
    input_bias, recurrent_bias = bias
    x_z, x_r, x_h = np.split(x @ kernel + input_bias, 3, axis=-1)
    h_z, h_r, h_h = np.split(h @ recurrent_kernel + recurrent_bias, 3, axis=-1)
    z = _sigmoid(x_z + h_z)  # update gate: how much of the old state to keep
    r = _sigmoid(x_r + h_r)  # reset gate: how much of the old state the candidate reads
    candidate = np.tanh(x_h + r * h_h)
    return z * h + (1 - z) * candidate


def exercise_1():
    """Write one GRU step by hand and check it against `keras.layers.GRU`.

    Keras's GRU (with its default `reset_after=True`) computes, with kernel blocks in the
    order [z, r, h] and separate input and recurrent biases b and b':
    z = σ(x W_z + b_z + h U_z + b'_z), r = σ(x W_r + b_r + h U_r + b'_r),
    h̃ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h)), h' = z ⊙ h + (1 − z) ⊙ h̃.
    Loop the step over a short sequence from a nonzero initial state: it equals the layer's
    outputs and final state (`return_sequences=True, return_state=True`).
    """
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(1, TIME_STEPS, INPUT_DIM)).astype("float32")
    h0 = rng.normal(scale=0.5, size=(1, UNITS)).astype("float32")
    layer = keras.layers.GRU(UNITS, return_sequences=True, return_state=True)
    outputs, h_last = layer(inputs, initial_state=[h0])
    kernel, recurrent_kernel, bias = layer.get_weights()
    assert bias.shape == (2, 3 * UNITS)  # input bias and recurrent bias

    h = h0
    for t in range(TIME_STEPS):
        h = _gru_step(inputs[:, t], h, kernel, recurrent_kernel, bias)
        np.testing.assert_allclose(h, outputs[:, t], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, h_last, rtol=1e-5, atol=1e-6)
    print(f"{TIME_STEPS} GRU steps by hand == keras.layers.GRU")


def lstm_language_model_parameters(vocabulary_size, embedding_dim, hidden_dim, num_layers):
    """Parameter count of `LSTMLanguageModel`, from its layers."""
    embedding = vocabulary_size * embedding_dim
    # Each LSTM layer: 4 gates, each with an input matrix, a recurrent matrix and a bias.
    first = 4 * hidden_dim * (embedding_dim + hidden_dim + 1)
    others = (num_layers - 1) * 4 * hidden_dim * (hidden_dim + hidden_dim + 1)
    head = hidden_dim * vocabulary_size + vocabulary_size  # Dense, not tied to the embedding
    return embedding + first + others + head


def exercise_2():
    """Write the LSTM language model's parameter count as a formula and check it.

    An LSTM layer with input size n and h units has 4h(n + h + 1) weights: four gates, each
    with an input matrix, a recurrent matrix and a bias. Add the embedding table
    (vocabulary_size × embedding_dim) and the untied output layer
    (hidden_dim × vocabulary_size + vocabulary_size), and check the total against
    `count_parameters` for a few sizes, the lesson's included.
    """
    sizes = [(78, 64, 128, 2), (30, 8, 16, 1), (65, 16, 32, 3)]  # (vocabulary, emb, hidden, layers)
    for vocabulary_size, embedding_dim, hidden_dim, num_layers in sizes:
        model = LSTMLanguageModel(vocabulary_size, embedding_dim, hidden_dim, num_layers)
        expected = lstm_language_model_parameters(
            vocabulary_size, embedding_dim, hidden_dim, num_layers
        )
        assert count_parameters(model) == expected, (count_parameters(model), expected)
        print(
            f"vocabulary {vocabulary_size}, embedding {embedding_dim}, {num_layers} x "
            f"{hidden_dim}: {expected:,} parameters"
        )


def exercise_3():
    """Show that the LSTM language model is causal, and that its state carries the whole past.

    Change the last token of a window: the logits at every earlier position are unchanged,
    because the recurrence only reads the past. Then feed the same window one token at a time
    through `call_with_cache`, carrying the (h, c) state from each call to the next: the logits
    equal those of the full pass, so generation can run one token per step without reading the
    window again.
    """
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCABULARY_SIZE, size=(2, 12)).astype("int32")
    model = LSTMLanguageModel(VOCABULARY_SIZE, embedding_dim=8, hidden_dim=16, num_layers=2)
    logits = keras.ops.convert_to_numpy(model(x))  # (batch_size, time, vocabulary_size)

    changed = x.copy()
    changed[:, -1] = (changed[:, -1] + 1) % VOCABULARY_SIZE
    changed_logits = keras.ops.convert_to_numpy(model(changed))
    np.testing.assert_allclose(changed_logits[:, :-1], logits[:, :-1], rtol=1e-6, atol=1e-6)

    cache = model.init_cache(batch_size=len(x))  # zero (h, c) for every layer
    steps = []
    for t in range(x.shape[1]):
        step_logits, cache = model.call_with_cache(x[:, t : t + 1], cache, t)
        steps.append(keras.ops.convert_to_numpy(step_logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), logits, rtol=1e-5, atol=1e-5)
    print(f"causal, and {x.shape[1]} one-token steps with the state == the full pass")


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2, exercise_3):
        exercise()
