import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy_reference import numpy_nats

from tlm import evaluation


def _model(vocabulary_size=5, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(vocabulary_size, 4),
            keras.layers.Dense(vocabulary_size),
        ]
    )


def _data(batch_size=3, num_examples=7, vocabulary_size=5):
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocabulary_size, (num_examples, 6)).astype("int32")
    y = rng.integers(0, vocabulary_size, (num_examples, 6)).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def test_untrained_uniform_model_has_perplexity_equal_to_vocabulary_size():
    model = keras.Sequential([keras.layers.Embedding(9, 9, embeddings_initializer="zeros")])
    assert evaluation.perplexity(model, _data(vocabulary_size=9)) == pytest.approx(9.0)


def test_evaluate_matches_numpy_over_unequal_batches_and_reports_bits():
    model, data = _model(), _data()  # batches of 3, 3 and 1
    nats, tokens = numpy_nats(model, data)
    result = evaluation.evaluate(model, data, characters_per_token=4.0, words_per_token=0.25)
    assert result["tokens"] == tokens == 7 * 6
    assert result["loss"] == pytest.approx(nats / tokens, rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(nats / tokens), rel=1e-5)
    assert result["bits_per_token"] == pytest.approx(result["loss"] / math.log(2))
    # Normalisation: total nats / (ln 2 * characters), characters = tokens * chars/token.
    total_nats = result["loss"] * result["tokens"]
    assert result["bits_per_character"] == pytest.approx(
        total_nats / (math.log(2) * result["tokens"] * 4.0)
    )
    assert result["bits_per_word"] == pytest.approx(result["bits_per_token"] * 4.0)


def test_evaluate_skips_masked_targets_and_zero_weights():
    model = _model()
    x = np.array([[1, 2, 3, 4]], "int32")
    y = np.array([[2, 3, 0, 0]], "int32")
    masked = evaluation.evaluate(model, [(x, y)], mask_token_id=0)
    weighted = evaluation.evaluate(model, [(x, y, (y != 0).astype("float32"))])
    first_two = evaluation.evaluate(model, [(x[:, :2], y[:, :2])])
    assert masked["tokens"] == weighted["tokens"] == 2
    assert masked["perplexity"] == pytest.approx(first_two["perplexity"], rel=1e-6)
    assert weighted["perplexity"] == pytest.approx(first_two["perplexity"], rel=1e-6)


def test_evaluate_rejects_an_empty_dataset():
    with pytest.raises(ValueError, match="`dataset` must contain at least one scored token"):
        evaluation.evaluate(_model(), [])
