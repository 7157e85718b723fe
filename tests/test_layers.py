"""Token and position embeddings and the Transformer block."""

import keras
import numpy as np
import pytest
from keras import ops
from layer_test_helper import run_layer_test

from tlm.layers import TokenAndPositionEmbedding, TransformerBlock, sinusoidal_positions

VOCABULARY, LENGTH, HIDDEN = 11, 6, 8


@pytest.fixture
def token_ids():
    return np.random.default_rng(0).integers(0, VOCABULARY, size=(2, LENGTH)).astype("int32")


# Untied, the training step only reaches the input table: the output matrix gets no gradient.
@pytest.mark.filterwarnings("ignore:Gradients do not exist")
@pytest.mark.parametrize("position_embedding", ["learned", "sinusoidal"])
@pytest.mark.parametrize("tie_weights", [True, False])
def test_embedding_layer_contract(tmp_path, token_ids, position_embedding, tie_weights):
    run_layer_test(
        TokenAndPositionEmbedding,
        {
            "vocabulary_size": VOCABULARY,
            "sequence_length": LENGTH,
            "hidden_dim": HIDDEN,
            "position_embedding": position_embedding,
            "tie_weights": tie_weights,
        },
        token_ids,
        expected_output_shape=(2, LENGTH, HIDDEN),
        tmp_path=tmp_path,
    )


def test_start_index_shifts_the_positions(token_ids):
    for kind in ("learned", "sinusoidal"):
        layer = TokenAndPositionEmbedding(VOCABULARY, LENGTH, HIDDEN, position_embedding=kind)
        full = layer(token_ids)
        np.testing.assert_allclose(layer(token_ids[:, 2:4], start_index=2), full[:, 2:4])


def test_sinusoidal_positions_follow_the_formula():
    table = ops.convert_to_numpy(sinusoidal_positions(np.arange(3), 4))
    position, pair = 2, 1  # features 2 and 3 share the frequency 10000^(-2/4)
    angle = position / 10000 ** (2 * pair / 4)
    np.testing.assert_allclose(table[position, 2:4], [np.sin(angle), np.cos(angle)], rtol=1e-5)


def test_tied_projection_uses_the_token_embedding(token_ids):
    layer = TokenAndPositionEmbedding(VOCABULARY, LENGTH, HIDDEN, tie_weights=True)
    hidden = layer(token_ids)
    table = ops.convert_to_numpy(layer.token_embedding.embeddings)
    np.testing.assert_allclose(layer(hidden, reverse=True), hidden @ table.T, atol=1e-6)
    untied = TokenAndPositionEmbedding(VOCABULARY, LENGTH, HIDDEN, tie_weights=False)
    untied(token_ids)
    assert len(untied.trainable_weights) == len(layer.trainable_weights) + 1


def test_logits_are_float32_under_mixed_precision(token_ids):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        layer = TokenAndPositionEmbedding(VOCABULARY, LENGTH, HIDDEN)
        hidden = layer(token_ids)
        assert keras.backend.standardize_dtype(hidden.dtype) == "bfloat16"
        logits = layer(hidden, reverse=True)
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_input_longer_than_sequence_length_is_an_error():
    layer = TokenAndPositionEmbedding(VOCABULARY, LENGTH, HIDDEN)
    with pytest.raises(ValueError, match="longer than `sequence_length`.*input length=7"):
        layer(np.zeros((1, LENGTH + 1), "int32"))


def test_embedding_argument_errors():
    with pytest.raises(ValueError, match="`vocabulary_size` must be an integer of at least 1"):
        TokenAndPositionEmbedding(0, LENGTH, HIDDEN)
    with pytest.raises(ValueError, match="`position_embedding` must be one of 'learned'"):
        TokenAndPositionEmbedding(VOCABULARY, LENGTH, HIDDEN, position_embedding="rotary")


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_block_layer_contract(tmp_path, norm_first):
    run_layer_test(
        TransformerBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1, "norm_first": norm_first},
        np.random.default_rng(0).normal(size=(2, LENGTH, HIDDEN)).astype("float32"),
        expected_output_shape=(2, LENGTH, HIDDEN),
        tmp_path=tmp_path,
    )


def test_transformer_block_is_causal():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, LENGTH, HIDDEN)).astype("float32")
    changed = x.copy()
    changed[:, 4:] += 1.0
    block = TransformerBlock(num_heads=2, intermediate_dim=16)
    np.testing.assert_allclose(block(changed)[:, :4], block(x)[:, :4], atol=1e-6)


def test_pre_norm_and_post_norm_differ():
    x = np.random.default_rng(0).normal(size=(1, LENGTH, HIDDEN)).astype("float32")
    pre = TransformerBlock(num_heads=2, intermediate_dim=16)
    post = TransformerBlock(num_heads=2, intermediate_dim=16, norm_first=False)
    pre.build(x.shape)
    post.build(x.shape)
    post.set_weights(pre.get_weights())
    assert not np.allclose(pre(x), post(x))
    # Post-norm output is layer-normalized: zero mean per position.
    np.testing.assert_allclose(ops.mean(post(x), axis=-1), 0.0, atol=1e-5)


def test_block_returns_attention_scores_and_cache():
    x = np.random.default_rng(0).normal(size=(1, LENGTH, HIDDEN)).astype("float32")
    block = TransformerBlock(num_heads=2, intermediate_dim=16)
    y, scores = block(x, return_attention_scores=True)
    assert tuple(scores.shape) == (1, 2, LENGTH, LENGTH)
    cache = np.zeros((1, 2, LENGTH, 2, HIDDEN // 2), "float32")
    y_cached, scores, cache = block(x, cache=cache, cache_index=0, return_attention_scores=True)
    np.testing.assert_allclose(y_cached, y, atol=1e-5)


def test_hidden_dim_not_divisible_by_num_heads_is_an_error():
    block = TransformerBlock(num_heads=4, intermediate_dim=16)
    with pytest.raises(ValueError, match="`hidden_dim` must be divisible by `num_heads`"):
        block(np.zeros((1, 3, 6), "float32"))
