"""Self-attention: the formula against Keras, causality, the KV cache, and the layer contract."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from layer_test_helper import run_layer_test

from tlm.layers import CausalSelfAttention, causal_mask, scaled_dot_product_attention

BATCH, TIME, HEADS, HEAD_DIM = 2, 5, 2, 4
HIDDEN = HEADS * HEAD_DIM


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _causal(length):
    return np.tril(np.ones((length, length), dtype=bool))


@pytest.mark.parametrize("causal", [False, True])
def test_formula_matches_keras_dot_product_attention(rng, causal):
    # (batch, time, heads, head_dim) is Keras's layout; the formula wants heads before time.
    q, k, v = (rng.normal(size=(BATCH, TIME, HEADS, HEAD_DIM)).astype("float32") for _ in "qkv")
    expected = ops.dot_product_attention(q, k, v, is_causal=causal)
    output, weights = scaled_dot_product_attention(
        *(np.transpose(t, (0, 2, 1, 3)) for t in (q, k, v)),
        mask=_causal(TIME) if causal else None,
    )
    np.testing.assert_allclose(np.transpose(output, (0, 2, 1, 3)), expected, atol=1e-5)
    np.testing.assert_allclose(ops.sum(weights, axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_formula_matches_multi_head_attention_with_the_same_projections(rng, causal):
    x = rng.normal(size=(BATCH, TIME, HIDDEN)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=HEAD_DIM)
    expected, expected_weights = mha(x, x, use_causal_mask=causal, return_attention_scores=True)
    # (batch, heads, time, head_dim) through the layer's own projections.
    q, k, v = (
        ops.transpose(dense(x), (0, 2, 1, 3))
        for dense in (mha.query_dense, mha.key_dense, mha.value_dense)
    )
    output, weights = scaled_dot_product_attention(q, k, v, _causal(TIME) if causal else None)
    output = mha.output_dense(ops.transpose(output, (0, 2, 1, 3)))
    np.testing.assert_allclose(output, expected, atol=1e-5)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-5)


def test_masked_weights_are_zero_above_the_diagonal(rng):
    q, k, v = (rng.normal(size=(1, TIME, HEAD_DIM)).astype("float32") for _ in "qkv")
    _, weights = scaled_dot_product_attention(q, k, v, mask=_causal(TIME))
    assert np.all(ops.convert_to_numpy(weights)[0][~_causal(TIME)] == 0.0)


def test_causal_mask_with_an_offset():
    mask = ops.convert_to_numpy(causal_mask(2, 5, start_index=2))
    np.testing.assert_array_equal(mask[0], [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])


def test_causal_self_attention_equals_multi_head_attention_with_a_causal_mask(rng):
    x = rng.normal(size=(BATCH, TIME, HIDDEN)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=HEAD_DIM)
    expected = mha(x, x, use_causal_mask=True)
    layer = CausalSelfAttention(num_heads=HEADS, key_dim=HEAD_DIM)
    layer.build(x.shape)
    layer.set_weights(mha.get_weights())
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_formula_switch_gives_the_same_outputs_and_weights(rng, dropout):
    x = rng.normal(size=(BATCH, TIME, HIDDEN)).astype("float32")
    fused = CausalSelfAttention(num_heads=HEADS, key_dim=HEAD_DIM, dropout=dropout)
    formula = CausalSelfAttention(
        num_heads=HEADS, key_dim=HEAD_DIM, dropout=dropout, use_formula=True
    )
    fused.build(x.shape)
    formula.build(x.shape)
    formula.set_weights(fused.get_weights())
    out_fused, weights_fused = fused(x, return_attention_scores=True)
    out_formula, weights_formula = formula(x, return_attention_scores=True)
    np.testing.assert_allclose(out_formula, out_fused, atol=1e-5)
    np.testing.assert_allclose(weights_formula, weights_fused, atol=1e-5)
    assert tuple(weights_fused.shape) == (BATCH, HEADS, TIME, TIME)


def test_changing_later_tokens_never_changes_earlier_outputs(rng):
    x = rng.normal(size=(1, TIME, HIDDEN)).astype("float32")
    layer = CausalSelfAttention(num_heads=HEADS, key_dim=HEAD_DIM)
    changed = x.copy()
    changed[:, 3:] = rng.normal(size=(1, TIME - 3, HIDDEN))
    np.testing.assert_allclose(layer(changed)[:, :3], layer(x)[:, :3], atol=1e-6)
    assert not np.allclose(layer(changed)[:, 3:], layer(x)[:, 3:])


@pytest.mark.parametrize("use_formula", [False, True])
def test_cached_attention_matches_full_pass(rng, use_formula):
    x = rng.normal(size=(BATCH, TIME, HIDDEN)).astype("float32")
    layer = CausalSelfAttention(num_heads=HEADS, key_dim=HEAD_DIM, use_formula=use_formula)
    full = layer(x)
    cache = np.zeros((BATCH, 2, TIME + 2, HEADS, HEAD_DIM), "float32")  # longer than needed
    prefill, cache = layer(x[:, :3], cache=cache, cache_index=0)
    outputs = [prefill]
    for index in range(3, TIME):
        step, cache = layer(x[:, index : index + 1], cache=cache, cache_index=tf.constant(index))
        outputs.append(step)
    np.testing.assert_allclose(ops.concatenate(outputs, axis=1), full, atol=1e-5)
    assert tuple(cache.shape) == (BATCH, 2, TIME + 2, HEADS, HEAD_DIM)


def test_cache_of_all_layers_writes_only_the_new_positions_of_its_layer(rng):
    x = rng.normal(size=(BATCH, TIME, HIDDEN)).astype("float32")
    layer = CausalSelfAttention(num_heads=HEADS, key_dim=HEAD_DIM)
    own = np.zeros((BATCH, 2, TIME, HEADS, HEAD_DIM), "float32")
    expected, own = layer(x[:, :2], cache=own, cache_index=1)
    shared = np.ones((BATCH, 3, 2, TIME, HEADS, HEAD_DIM), "float32")
    shared[:, 1] = 0.0
    output, shared = layer(x[:, :2], cache=shared, cache_index=1, cache_layer=1)
    np.testing.assert_allclose(output, expected, atol=1e-6)
    np.testing.assert_allclose(shared[:, 1], own, atol=1e-6)
    np.testing.assert_array_equal(shared[:, 0], 1.0)  # the other layers are untouched
    np.testing.assert_array_equal(shared[:, 2], 1.0)


def test_cache_without_an_index_is_an_error(rng):
    layer = CausalSelfAttention(num_heads=HEADS, key_dim=HEAD_DIM)
    cache = np.zeros((1, 2, TIME, HEADS, HEAD_DIM), "float32")
    with pytest.raises(ValueError, match="`cache_index` must be given"):
        layer(np.zeros((1, 1, HIDDEN), "float32"), cache=cache)


def test_sizes_below_one_are_errors():
    with pytest.raises(ValueError, match="`num_heads` must be an integer of at least 1"):
        CausalSelfAttention(num_heads=0, key_dim=4)
    with pytest.raises(ValueError, match="`dropout` must be a number in"):
        CausalSelfAttention(num_heads=2, key_dim=4, dropout=1.5)


@pytest.mark.parametrize("use_formula", [False, True])
def test_causal_self_attention_layer_contract(tmp_path, rng, use_formula):
    run_layer_test(
        CausalSelfAttention,
        {"num_heads": HEADS, "key_dim": HEAD_DIM, "use_formula": use_formula},
        rng.normal(size=(BATCH, TIME, HIDDEN)).astype("float32"),
        expected_output_shape=(BATCH, TIME, HIDDEN),
        tmp_path=tmp_path,
    )
