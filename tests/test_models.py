"""The Transformer and LSTM language models: contract, cached decoding, causality, presets."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from layer_test_helper import run_layer_test

from tlm.models import (
    MODEL_KINDS,
    LSTMConfig,
    LSTMLanguageModel,
    TransformerConfig,
    TransformerLanguageModel,
    build_model,
    count_parameters,
    flops_per_token,
    matched_presets,
    preset_names,
)

VOCABULARY, LENGTH, BATCH = 13, 8, 2
TINY = {
    "transformer": {
        "sequence_length": LENGTH,
        "num_layers": 2,
        "num_heads": 2,
        "hidden_dim": 8,
        "intermediate_dim": 16,
    },
    "lstm": {"embedding_dim": 6, "hidden_dim": 8, "num_layers": 2},
}


def tiny_model(kind, **overrides):
    return build_model(kind, VOCABULARY, **{**TINY[kind], **overrides})


@pytest.fixture
def token_ids():
    return np.random.default_rng(0).integers(0, VOCABULARY, size=(BATCH, LENGTH)).astype("int32")


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_model_contract(tmp_path, token_ids, kind):
    cls = {"transformer": TransformerLanguageModel, "lstm": LSTMLanguageModel}[kind]
    run_layer_test(
        cls,
        {"vocabulary_size": VOCABULARY, **TINY[kind]},
        token_ids,
        expected_output_shape=(BATCH, LENGTH, VOCABULARY),
        tmp_path=tmp_path,
        expected_mixed_dtype="float32",
    )


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_get_config_rebuilds_through_build_model(token_ids, kind):
    model = tiny_model(kind, dropout=0.1)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = build_model(kind, **config)
    assert rebuilt.get_config() == model.get_config()
    assert count_parameters(rebuilt) == count_parameters(model)


def _decode_piecewise(model, token_ids, prefill):
    """Logits from a prefill of `prefill` tokens, then one token at a time, in a tf.function."""
    call_with_cache = tf.function(model.call_with_cache)
    cache = model.init_cache(BATCH, LENGTH)
    logits, cache = call_with_cache(token_ids[:, :prefill], cache, tf.constant(0))
    pieces = [logits]
    for index in range(prefill, LENGTH):
        logits, cache = call_with_cache(token_ids[:, index : index + 1], cache, tf.constant(index))
        pieces.append(logits)
    return ops.concatenate(pieces, axis=1), cache


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
@pytest.mark.parametrize("prefill", [1, 3])
def test_cached_decoding_matches_full_pass(token_ids, kind, prefill):
    model = tiny_model(kind)
    full = model(token_ids)
    cached, cache = _decode_piecewise(model, token_ids, prefill)
    np.testing.assert_allclose(cached, full, atol=1e-5)
    assert cache.shape == model.init_cache(BATCH, LENGTH).shape


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_cached_decoding_runs_in_a_while_loop(token_ids, kind):
    model = tiny_model(kind)
    full = model(token_ids)

    @tf.function
    def decode(token_ids):
        def body(index, cache, logits):
            step = ops.slice(token_ids, (0, index), (BATCH, 1))
            step_logits, cache = model.call_with_cache(step, cache, index)
            return index + 1, cache, ops.slice_update(logits, (0, index, 0), step_logits)

        initial = (0, model.init_cache(BATCH, LENGTH), ops.zeros((BATCH, LENGTH, VOCABULARY)))
        return tf.while_loop(lambda i, *_: i < LENGTH, body, initial)[2]

    np.testing.assert_allclose(decode(token_ids), full, atol=1e-5)


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_changing_later_tokens_never_changes_earlier_logits(token_ids, kind):
    model = tiny_model(kind)
    changed = token_ids.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % VOCABULARY
    np.testing.assert_allclose(model(changed)[:, :5], model(token_ids)[:, :5], atol=1e-6)
    assert not np.allclose(model(changed)[:, 5:], model(token_ids)[:, 5:])


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_untrained_loss_is_about_log_vocabulary_size(kind):
    vocabulary = 65
    model = build_model(kind, vocabulary, preset="tiny")
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocabulary, size=(4, 32))
    y = rng.integers(0, vocabulary, size=(4, 32))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))
    assert abs(float(loss) - math.log(vocabulary)) < 0.1


@pytest.mark.parametrize("kind", [pytest.param("transformer", marks=pytest.mark.slow), "lstm"])
def test_mixed_bfloat16_trains_with_float32_logits(token_ids, kind):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = tiny_model(kind)
        assert keras.backend.standardize_dtype(model(token_ids).dtype) == "float32"
        logits, cache = model.call_with_cache(token_ids, model.init_cache(BATCH, LENGTH), 0)
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
        assert keras.backend.standardize_dtype(cache.dtype) == "bfloat16"
        model.compile("adamw", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        assert np.isfinite(model.train_on_batch(token_ids, token_ids))
    finally:
        keras.config.set_dtype_policy("float32")


def test_transformer_variants_run(token_ids):
    for overrides in (
        {"norm_first": False},
        {"position_embedding": "sinusoidal"},
        {"tie_weights": False},
        {"use_formula": True},
    ):
        assert tiny_model("transformer", **overrides)(token_ids).shape == (BATCH, LENGTH, 13)


def test_formula_switch_gives_the_same_logits(token_ids):
    fused = tiny_model("transformer")
    formula = tiny_model("transformer", use_formula=True)
    fused(token_ids)
    formula(token_ids)
    formula.set_weights(fused.get_weights())
    np.testing.assert_allclose(formula(token_ids), fused(token_ids), atol=1e-5)


def test_attention_scores_for_plotting(token_ids):
    scores = tiny_model("transformer").attention_scores(token_ids)
    assert len(scores) == 2 and tuple(scores[0].shape) == (BATCH, 2, LENGTH, LENGTH)
    np.testing.assert_allclose(ops.sum(scores[0], axis=-1), 1.0, atol=1e-5)


def test_context_length():
    assert tiny_model("transformer").context_length == LENGTH
    assert tiny_model("lstm").context_length is None


def test_stateful_lstm_carries_state_across_batches(token_ids):
    stateful = tiny_model("lstm", stateful=True, batch_size=BATCH)
    stateless = tiny_model("lstm")
    stateful(token_ids[:, :4])
    stateless(token_ids[:, :4])
    for target, source in zip(stateless.weights, stateful.trainable_weights, strict=True):
        target.assign(source)
    stateful.reset_states()
    stateful(token_ids[:, :4])
    second_half = stateful(token_ids[:, 4:])  # continues from the first half's final state
    np.testing.assert_allclose(second_half, stateless(token_ids)[:, 4:], atol=1e-5)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(token_ids[:, 4:]), stateless(token_ids[:, 4:]), atol=1e-5)


def test_presets_exist_for_every_kind_and_have_matched_sizes():
    assert list(MODEL_KINDS) == ["transformer", "lstm", "gpt2"]
    matched = ("tiny", "nanogpt-cpu", "nanogpt-gpu")
    zaremba = ("zaremba-small", "zaremba-medium", "zaremba-large")  # the LSTM's alone
    gpt2 = ("gpt2-tiny", "gpt2-base")  # keras_hub's GPT-2 shapes, not matched to the others
    assert preset_names("transformer") == matched
    assert preset_names("lstm") == matched + zaremba
    assert preset_names() == matched + zaremba + gpt2
    assert all(list(matched_presets(preset)) == ["lstm"] for preset in zaremba)
    assert all(list(matched_presets(preset)) == ["gpt2"] for preset in gpt2)
    for preset in matched:
        configs = matched_presets(preset)
        assert isinstance(configs["transformer"], TransformerConfig)
        assert isinstance(configs["lstm"], LSTMConfig)
        sizes = [count_parameters(build_model(kind, 65, preset=preset)) for kind in configs]
        assert abs(sizes[1] / sizes[0] - 1) < 0.05, (preset, sizes)
    cpu = matched_presets("nanogpt-cpu")["transformer"]
    assert (cpu.num_layers, cpu.num_heads, cpu.hidden_dim, cpu.sequence_length) == (4, 4, 128, 64)
    gpu = matched_presets("nanogpt-gpu")["transformer"]
    assert (gpu.num_layers, gpu.num_heads, gpu.hidden_dim, gpu.sequence_length) == (6, 6, 384, 256)
    assert gpu.dropout == 0.2 and cpu.dropout == 0.0


def test_flops_per_token_formula():
    model = build_model("transformer", 65, preset="nanogpt-cpu")
    n = count_parameters(model) - 64 * 128  # position embeddings are a lookup
    assert flops_per_token(model) == 6 * n + 12 * 4 * 64 * 128
    assert flops_per_token(model, training=False) == 2 * n + 4 * 4 * 64 * 128
    lstm = build_model("lstm", 65, preset="nanogpt-cpu")
    assert flops_per_token(lstm) == 6 * (count_parameters(lstm) - 65 * 128)


def test_build_model_errors():
    with pytest.raises(ValueError, match="`kind` must be one of 'transformer', 'lstm'"):
        build_model("gru", VOCABULARY)
    with pytest.raises(ValueError, match="`preset` must be one of 'tiny', 'nanogpt-cpu'"):
        build_model("lstm", VOCABULARY, preset="huge")
    with pytest.raises(ValueError, match="Unknown argument.*hidden_size"):
        build_model("lstm", VOCABULARY, hidden_size=3)


def test_model_argument_errors(token_ids):
    with pytest.raises(
        ValueError,
        match=r"`hidden_dim` must be divisible by `num_heads`. Received: hidden_dim=6, num_heads=4",
    ):
        tiny_model("transformer", hidden_dim=6, num_heads=4)
    with pytest.raises(ValueError, match="`num_layers` must be an integer of at least 1"):
        tiny_model("transformer", num_layers=0)
    with pytest.raises(ValueError, match="`hidden_dim` must be an integer of at least 1"):
        tiny_model("lstm", hidden_dim=0)
    with pytest.raises(ValueError, match="`batch_size` must be set when `stateful=True`"):
        tiny_model("lstm", stateful=True)
    model = tiny_model("transformer")
    with pytest.raises(ValueError, match="longer than `sequence_length`.*input length=9"):
        model(np.zeros((1, LENGTH + 1), "int32"))
    with pytest.raises(ValueError, match="`max_length` must be at most `sequence_length`"):
        model.init_cache(1, LENGTH + 1)


def test_a_plain_compile_of_the_transformer_trains_with_xla_unless_told_otherwise():
    transformer = tiny_model("transformer")
    transformer.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert transformer.jit_compile is True
    x = np.ones((4, 8), "int32")
    history = transformer.fit(x, x, epochs=2, verbose=0)  # runs through XLA
    assert history.history["loss"][1] < history.history["loss"][0]
    transformer.compile("adam", "sparse_categorical_crossentropy", jit_compile=False)
    assert transformer.jit_compile is False
    transformer.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    assert transformer.jit_compile is False  # Keras's choice when eager


def test_the_lstm_gives_the_same_logits_unrolled_and_as_a_loop():
    from tlm.models.lstm import _should_unroll

    model = tiny_model("lstm")
    token_ids = np.arange(1, 25, dtype="int32").reshape(2, 12) % model.vocabulary_size
    on_cpu = not tf.config.list_logical_devices("GPU")  # a GPU keeps the loop, for cuDNN
    assert _should_unroll(12) == on_cpu and not _should_unroll(None) and not _should_unroll(1000)
    unrolled = model(token_ids)  # a known length: one graph of 12 steps
    looped = tf.function(model, input_signature=[tf.TensorSpec((None, None), tf.int32)])
    np.testing.assert_allclose(looped(token_ids), unrolled, rtol=1e-5, atol=1e-5)
