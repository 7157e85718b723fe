"""Solutions to the exercises of lesson 01, text preprocessing
(notebooks/01_text_preprocessing.ipynb).

Each `exercise_N()` computes its answer with tlm at a small size, in a few seconds on a CPU, and
asserts what the exercise asks you to find. `python notebooks/solutions/01_text_preprocessing.py`
runs them all.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

from tlm.data import build_tokenizer, load_corpus, make_lm_dataset

TRAINING_CHARACTERS = 20_000  # of Shakespeare, to train the tokenizers on
MEASURE_CHARACTERS = 5_000  # of the held-out plays, to measure characters per token


def exercise_1():
    """Train a `bpe` tokenizer beside a `char` one and compare characters per token.

    On the same slice of the training plays, train a `char` tokenizer and a `bpe` tokenizer
    (vocabulary 500), encode the same held-out text with both and compute characters per
    token. The character tokenizer reads exactly one character per token; byte-pair encoding
    reads more than one, and, thanks to its byte fallback, decodes back to the exact text.
    """
    corpus = load_corpus("shakespeare")
    training_text = corpus.train[:TRAINING_CHARACTERS]
    held_out = corpus.validation[:MEASURE_CHARACTERS]
    characters_per_token = {}
    for kind, size in [("char", None), ("bpe", 500)]:
        tokenizer = build_tokenizer(kind, training_text, vocabulary_size=size)
        ids = tokenizer.encode(held_out)
        characters_per_token[kind] = len(held_out) / len(ids)
        print(
            f"{kind:>5}: vocabulary {tokenizer.vocabulary_size:4d}, "
            f"{characters_per_token[kind]:.2f} characters per token"
        )
        if kind == "bpe":
            assert tokenizer.decode(ids) == held_out, "bpe does not round-trip the text"
    assert characters_per_token["char"] == 1.0
    assert characters_per_token["bpe"] > 1.2 * characters_per_token["char"]


def exercise_2():
    """Show that an embedding lookup is a one-hot vector times the table.

    Build a `keras.layers.Embedding` for the `Hello` vocabulary, look up the ids of `Hello`,
    and compute the same vectors as `one_hot(ids) @ table`. They are equal, and the two `l`s
    get the same row: the lookup is a cheap matrix product.
    """
    hello = build_tokenizer("char", "Hello")
    ids = hello.encode("Hello")
    embedding = keras.layers.Embedding(input_dim=hello.vocabulary_size, output_dim=3)
    looked_up = keras.ops.convert_to_numpy(embedding(ids[None, :]))[0]  # (5, 3)
    table = embedding.get_weights()[0]  # (vocabulary_size, 3)
    one_hot = np.eye(hello.vocabulary_size, dtype="float32")[ids]  # (5, vocabulary_size)
    np.testing.assert_allclose(looked_up, one_hot @ table, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(looked_up[2], looked_up[3])  # the two l's
    print("embedding lookup == one-hot @ table:", looked_up.shape)


def exercise_3():
    """Check that every training window's target is its input shifted by one token.

    Encode a slice of the training plays with a `char` tokenizer, cut it with
    `make_lm_dataset(ids, sequence_length=16, batch_size=8)`, and check in every batch that
    `y[:, :-1] == x[:, 1:]`: position t's target is position t + 1's input, so each window of
    16 characters gives 16 next-character predictions.
    """
    text = load_corpus("shakespeare").train[:TRAINING_CHARACTERS]
    tokenizer = build_tokenizer("char", text)
    ids = tokenizer.encode(text)
    batches = 0
    for x, y in make_lm_dataset(ids, sequence_length=16, batch_size=8):
        x, y = x.numpy(), y.numpy()
        np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
        assert x.shape == y.shape and x.shape[1] == 16
        batches += 1
    assert batches > 0
    print(f"{batches} batches: y is x shifted by one in every window")


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2, exercise_3):
        exercise()
