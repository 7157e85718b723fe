import io
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy_reference import numpy_nats

from tlm.training import (
    BestModelCheckpoint,
    BudgetProgress,
    FlopsBudget,
    PerplexityCallback,
    TerminateOnNaN,
    TextGenerationCallback,
    ThroughputCallback,
    TimeBudget,
)

VOCABULARY_SIZE = 6


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY_SIZE, 8),
            keras.layers.Dense(VOCABULARY_SIZE),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _dataset(num_examples=10, batch_size=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCABULARY_SIZE, (num_examples, 5)).astype("int32")
    y = np.roll(x, -1, axis=1)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)  # batches 4, 4, 2


def test_perplexity_callback_logs_exact_validation_figures():
    model, data = _tiny_model(), _dataset()
    callback = PerplexityCallback(data, characters_per_token=2.0)
    history = model.fit(data, epochs=2, verbose=0, callbacks=[callback])
    nats, tokens = numpy_nats(model, data)  # the trained model, scored apart from tlm
    assert tokens == 10 * 5
    assert history.history["val_loss"][-1] == pytest.approx(nats / tokens, rel=1e-5)
    assert history.history["val_perplexity"][-1] == pytest.approx(math.exp(nats / tokens), rel=1e-5)
    assert history.history["val_bits_per_character"][-1] == pytest.approx(
        nats / (tokens * 2.0 * math.log(2)), rel=1e-5
    )


def test_perplexity_callback_every_n_steps_keeps_a_step_history():
    model, data = _tiny_model(), _dataset()
    callback = PerplexityCallback(data, every_n_steps=2)
    model.fit(data.repeat(), epochs=1, steps_per_epoch=6, verbose=0, callbacks=[callback])
    assert [step for step, _ in callback.step_history] == [2, 4, 6]
    assert all(scores["val_perplexity"] > 1 for _, scores in callback.step_history)
    # With several steps per compiled call, the callback runs when a multiple of N was crossed.
    model.compile("adam", model.loss, steps_per_execution=4)
    every_three = PerplexityCallback(data, every_n_steps=3)
    model.fit(data.repeat(), epochs=1, steps_per_epoch=12, verbose=0, callbacks=[every_three])
    assert [step for step, _ in every_three.step_history] == [4, 8, 12]  # new optimizer
    with pytest.raises(ValueError, match="`every_n_steps` must be >= 1"):
        PerplexityCallback(data, every_n_steps=0)


def test_throughput_callback_adds_tokens_per_second_and_step_time():
    model, data = _tiny_model(), _dataset()
    throughput = ThroughputCallback(tokens_per_step=4 * 5)
    history = model.fit(data, epochs=2, verbose=0, callbacks=[throughput])
    assert history.history["tokens_per_second"][-1] > 0
    assert history.history["step_time"][-1] > 0
    assert throughput.total_steps == 5  # 6 steps, the first (compiling) one left out
    assert throughput.tokens_per_second > 0


def test_time_budget_stops_training_cleanly_after_the_current_step():
    model, data = _tiny_model(), _dataset()
    budget = TimeBudget(seconds=1e-6, verbose=0)
    validation = PerplexityCallback(data)
    history = model.fit(
        data.repeat(), epochs=5, steps_per_epoch=10, verbose=0, callbacks=[budget, validation]
    )
    assert budget.stopped
    assert model.optimizer.iterations.numpy() == 1
    assert len(history.history["val_perplexity"]) == 1  # the epoch still ended normally
    with pytest.raises(ValueError, match="`seconds` must be positive"):
        TimeBudget(0)


def test_flops_budget_stops_after_the_flops_of_its_steps():
    model, data = _tiny_model(), _dataset()
    budget = FlopsBudget(flops=3.5e9, flops_per_step=1e9)
    model.fit(data.repeat(), epochs=2, steps_per_epoch=10, verbose=0, callbacks=[budget])
    assert budget.stopped and budget.steps == 4 and budget.spent() == 4e9
    with pytest.raises(ValueError, match="`flops_per_step` must be a finite number greater"):
        FlopsBudget(1e9, 0)


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("tty", [False, True])
def test_budget_progress_shows_the_budget_spent_not_epochs(tty):
    model, data = _tiny_model(), _dataset()
    budget = FlopsBudget(flops=20e9, flops_per_step=1e9)
    stream = _Stream(tty)
    progress = BudgetProgress(budget, interval=0.0, stream=stream)
    validation = PerplexityCallback(data)
    model.fit(
        data.repeat(),
        epochs=10,
        steps_per_epoch=5,
        verbose=0,
        callbacks=[budget, validation, progress],
    )
    text = stream.getvalue()
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and all(line.startswith("budget ") for line in lines)
    assert "Epoch" not in text
    # The last drawing: the whole budget, 20 steps, the loss and the validation perplexity.
    last = lines[-1]
    assert last.startswith("budget 2e+10/2e+10 FLOPs") and "100%" in last
    assert "step 20" in last and "loss " in last and "val perplexity " in last
    assert "ETA" not in last
    if tty:
        assert "\r" in text and text.endswith("\n")  # redrawn in place, ended once
    else:
        assert "\r" not in text
        # One line per tenth of the budget (none for 0 %), then the final one.
        assert [line.split()[1] for line in lines] == [
            f"{tenth * 2e9:.3g}/2e+10" for tenth in range(1, 10)
        ] + ["2e+10/2e+10"]


def test_budget_progress_needs_a_budget():
    with pytest.raises(ValueError, match="`budget` must be a tlm.training.BudgetCallback"):
        BudgetProgress(budget=60)


class _PoisonWeights(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            weights = self.model.get_weights()
            weights[0][:] = np.nan
            self.model.set_weights(weights)


def test_a_nan_stops_training_and_never_overwrites_the_saved_model(tmp_path):
    model, data = _tiny_model(), _dataset()
    path = str(tmp_path / "model.keras")
    checkpoint = BestModelCheckpoint(path, monitor="val_perplexity", verbose=0)
    model.fit(data, epochs=1, verbose=0, callbacks=[PerplexityCallback(data), checkpoint])
    saved = open(path, "rb").read()
    good = keras.saving.load_model(path).get_weights()
    nan_guard = TerminateOnNaN()
    model.fit(
        data.repeat(),
        epochs=3,
        steps_per_epoch=3,
        verbose=0,
        callbacks=[_PoisonWeights(), nan_guard, PerplexityCallback(data), checkpoint],
    )
    assert nan_guard.terminated and nan_guard.step == 3 + 3  # poisoned after step 5
    assert open(path, "rb").read() == saved
    assert all(np.isfinite(w).all() for w in good)


def test_text_generation_callback_samples_with_each_strategy(capsys):
    import tlm.models
    from tlm.data.tokenizers import build_tokenizer

    tokenizer = build_tokenizer("char", ["abcab cab"])
    model = tlm.models.build_model(
        "lstm", tokenizer.vocabulary_size, embedding_dim=8, hidden_dim=8, num_layers=1
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = tokenizer.encode("abcab cab abcab cab")
    data = tf.data.Dataset.from_tensors((ids[None, :-1], ids[None, 1:]))
    callback = TextGenerationCallback(
        tokenizer,
        ["ab", "c"],
        strategies=("greedy", "top_k"),
        max_new_tokens=4,
        every_n_epochs=2,
    )
    model.fit(data, epochs=2, verbose=0, callbacks=[callback])
    assert [(s["epoch"], s["strategy"], s["prompt"]) for s in callback.samples] == [
        (2, "greedy", "ab"),
        (2, "greedy", "c"),
        (2, "top_k", "ab"),
        (2, "top_k", "c"),
    ]
    assert all(isinstance(s["text"], str) for s in callback.samples)
    assert "Samples after epoch 2" in capsys.readouterr().out
    with pytest.raises(ValueError, match="`every_n_epochs` must be >= 1"):
        TextGenerationCallback(tokenizer, "a", every_n_epochs=0)
