import math

import keras
import numpy as np
import pytest

from tlm.training import Perplexity
from tlm.training.schedules import WarmupCosineDecay


def _cross_entropy(logits, targets):
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def test_uniform_logits_give_perplexity_equal_to_vocabulary_size():
    metric = Perplexity()
    for batch_size in (3, 1):
        metric.update_state(np.full((batch_size, 4), 2), np.zeros((batch_size, 4, 7), "float32"))
    assert float(metric.result()) == pytest.approx(7.0, rel=1e-5)


def test_unequal_batches_give_the_exact_corpus_perplexity():
    rng = np.random.default_rng(0)
    batches = [
        (rng.integers(0, 6, (size, 5)), rng.normal(size=(size, 5, 6)).astype("float32"))
        for size in (4, 1, 3)
    ]
    metric = Perplexity()
    for targets, logits in batches:
        metric.update_state(targets, logits)
    nats = np.concatenate([_cross_entropy(lg, t).ravel() for t, lg in batches])
    expected = math.exp(nats.sum() / nats.size)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    # The mean of per-batch perplexities is a different (wrong) number.
    per_batch = [math.exp(_cross_entropy(lg, t).mean()) for t, lg in batches]
    assert abs(np.mean(per_batch) - expected) > 1e-3


def test_padding_is_neither_scored_nor_counted():
    rng = np.random.default_rng(1)
    targets = rng.integers(1, 6, (2, 5))
    logits = rng.normal(size=(2, 5, 6)).astype("float32")
    padded_targets = targets.copy()
    padded_targets[1, 3:] = 0
    metric = Perplexity(mask_token_id=0)
    metric.update_state(padded_targets, logits)
    kept = _cross_entropy(logits, targets)[padded_targets != 0]
    assert float(metric.result()) == pytest.approx(math.exp(kept.mean()), rel=1e-5)
    weighted = Perplexity()
    weighted.update_state(targets, logits, sample_weight=(padded_targets != 0).astype("float32"))
    assert float(weighted.result()) == pytest.approx(float(metric.result()), rel=1e-6)


def test_perplexity_serialises_and_resets():
    metric = Perplexity(mask_token_id=0, name="val_perplexity")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, Perplexity)
    assert restored.get_config()["mask_token_id"] == 0
    metric.update_state(np.ones((1, 2)), np.zeros((1, 2, 3), "float32"))
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_warmup_cosine_decay_warms_up_then_decays_to_the_floor():
    schedule = WarmupCosineDecay(1e-3, warmup_steps=10, decay_steps=90, min_learning_rate=1e-4)
    rates = [float(schedule(step)) for step in range(120)]
    assert rates[0] == pytest.approx(1e-3 / 11)
    assert rates[9] == pytest.approx(1e-3 * 10 / 11)
    assert rates[10] == pytest.approx(1e-3)
    assert rates[55] == pytest.approx(1e-4 + 0.5 * 9e-4, rel=1e-5)  # halfway down
    assert rates[100] == pytest.approx(1e-4) and rates[119] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))
    restored = WarmupCosineDecay.from_config(schedule.get_config())
    assert float(restored(55)) == pytest.approx(rates[55])


def test_warmup_cosine_decay_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`learning_rate` must be positive"):
        WarmupCosineDecay(0.0, warmup_steps=1, decay_steps=1)
    with pytest.raises(ValueError, match="`min_learning_rate` must be between 0 and"):
        WarmupCosineDecay(1e-3, warmup_steps=1, decay_steps=1, min_learning_rate=1e-2)
