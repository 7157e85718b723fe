"""Stateful training: contiguous rows, the carried state in `train` and `evaluate`, the
epoch-decay schedule, and the Zaremba et al. (2014) presets."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tlm.data.corpora import Corpus
from tlm.data.pipeline import prepare
from tlm.evaluation import evaluate
from tlm.models import build_model
from tlm.training import (
    TRAINING_PRESETS,
    EpochDecay,
    ResetStatesAtEpochStart,
    TrainConfig,
    contiguous_batches,
    count_contiguous_batches,
    train,
)

TEXT = "".join(f"{word} {i % 7}\n" for i, word in enumerate(["ab", "bca", "cab", "ba"] * 60))


def _data(sequence_length=8, batch_size=4):
    corpus = Corpus("toy", TEXT, TEXT[:300], TEXT[300:600], "the same toy text thrice")
    return prepare(corpus, "char", sequence_length=sequence_length, batch_size=batch_size)


def _stateful_lstm(data, seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    arguments = {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "stateful": True}
    arguments["batch_size"] = data.batch_size
    arguments.update(overrides)
    return build_model("lstm", data.tokenizer.vocabulary_size, "tiny", **arguments)


# --- contiguous rows --------------------------------------------------------------------------


def test_each_row_of_a_batch_continues_the_same_row_of_the_batch_before():
    ids = np.arange(1000)  # a counting stream: a continuation is the next number
    batches = list(contiguous_batches(ids, 7, 5, repeat=False))
    assert len(batches) == count_contiguous_batches(1000, 7, 5) == (200 - 1) // 7
    for (x, y), (next_x, _) in zip(batches, batches[1:], strict=False):
        x, y, next_x = x.numpy(), y.numpy(), next_x.numpy()
        assert x.shape == (5, 7) and x.dtype == np.int32
        np.testing.assert_array_equal(y, x + 1)  # targets: the next token
        np.testing.assert_array_equal(next_x[:, 0], x[:, -1] + 1)  # row i goes on
    # The rows are the five contiguous fifths of the stream.
    np.testing.assert_array_equal(batches[0][0].numpy()[:, 0], [0, 200, 400, 600, 800])


def test_the_endless_stream_starts_over_each_pass_and_resumes_at_any_step():
    ids = np.arange(1000)
    stream = iter(contiguous_batches(ids, 7, 5, steps_per_pass=4))
    first = [next(stream)[0].numpy() for _ in range(9)]
    np.testing.assert_array_equal(first[4], first[0])  # pass 2 starts at the rows' start
    np.testing.assert_array_equal(first[8], first[0])
    resumed = next(iter(contiguous_batches(ids, 7, 5, steps_per_pass=4, start_step=6)))[0]
    np.testing.assert_array_equal(resumed.numpy(), first[6])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"ids": np.arange(10), "sequence_length": 4, "batch_size": 3}, "must fill `batch_size`"),
        (
            {"ids": np.arange(100), "sequence_length": 4, "batch_size": 2, "steps_per_pass": 13},
            r"`steps_per_pass` must be between 1 and the 12 batches.*steps_per_pass=13",
        ),
        ({"ids": np.arange(100), "sequence_length": 0, "batch_size": 2}, "sequence_length"),
    ],
)
def test_contiguous_batches_refuse_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        contiguous_batches(**arguments)


# --- the epoch-decay schedule -----------------------------------------------------------------


def test_epoch_decay_keeps_the_rate_then_decays_it_each_epoch():
    schedule = EpochDecay(1.0, steps_per_epoch=100, decay_rate=0.5, constant_epochs=4)
    rates = [float(schedule(step)) for step in (0, 399, 400, 499, 500, 1299)]
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.5**9]
    again = EpochDecay.from_config(schedule.get_config())
    assert float(again(450)) == 0.5


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"decay_rate": 0.0}, r"`decay_rate` must be in \(0, 1\]. Received: decay_rate=0.0"),
        ({"constant_epochs": 0}, "constant_epochs"),
        ({"steps_per_epoch": 2.5}, "steps_per_epoch"),
        ({"learning_rate": -1.0}, "learning_rate"),
    ],
)
def test_epoch_decay_refuses_bad_arguments(arguments, message):
    values = {"learning_rate": 1.0, "steps_per_epoch": 10, "decay_rate": 0.5}
    values["constant_epochs"] = 4
    values.update(arguments)
    with pytest.raises(ValueError, match=message):
        EpochDecay(**values)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"schedule": "linear"}, "`schedule` must be one of"),
        ({"decay_rate": 1.5}, r"`decay_rate` must be in \(0, 1\]. Received: decay_rate=1.5"),
        ({"schedule": "epoch_decay", "warmup_steps": 10}, "cosine schedule only"),
    ],
)
def test_train_config_checks_the_schedule_settings(arguments, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**arguments)


def test_train_follows_the_epoch_decay_schedule():
    data = _data()
    model = _stateful_lstm(data)
    config = TrainConfig(
        epochs=3,
        steps_per_epoch=4,
        optimizer="sgd",
        momentum=0.0,
        learning_rate=0.5,
        schedule="epoch_decay",
        decay_rate=0.1,
        constant_epochs=2,
        verbose=0,
    )
    train(model, data, config)
    assert model.optimizer.iterations.numpy() == 12
    # The rate of step 12: the first of a 4th epoch, two epochs after the constant ones.
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5 * 0.1**2)


# --- the carried state in train and evaluate --------------------------------------------------


def test_the_state_resets_only_when_an_epoch_starts_at_its_first_step():
    data = _data()
    model = _stateful_lstm(data)
    model.compile("sgd", "sparse_categorical_crossentropy")
    model(np.ones((data.batch_size, 3), "int32"))
    reset = ResetStatesAtEpochStart(steps_per_epoch=5)
    reset.set_model(model)
    model.carried_state.assign(np.ones(model.carried_state.shape, "float32"))
    model.optimizer.iterations.assign(7)  # an epoch resumed in its middle keeps its state
    reset.on_epoch_begin(1)
    assert float(np.abs(model.carried_state.numpy()).min()) == 1.0
    model.optimizer.iterations.assign(10)
    reset.on_epoch_begin(2)
    assert not model.carried_state.numpy().any()


def test_a_stateful_model_trains_on_contiguous_rows_and_is_validated_with_its_state():
    data = _data()
    model = _stateful_lstm(data)
    result = train(model, data, epochs=2, steps_per_epoch=6, verbose=0)
    assert result.steps == 12
    # The validation figure is the validation split read in contiguous rows, state carried.
    rows = contiguous_batches(data.validation_ids, data.sequence_length, 4, repeat=False)
    state = model.carried_state.numpy()
    assert state.any()  # the last training batch's state
    exact = evaluate(model, rows, mask_token_id=data.tokenizer.pad_id)
    assert result.history["val_perplexity"][-1] == pytest.approx(exact["perplexity"], rel=1e-6)
    np.testing.assert_array_equal(model.carried_state.numpy(), state)  # put back afterwards
    # Carrying the state matters: each window from zeros scores differently.
    model.carried_state.assign(np.zeros_like(state))
    first_batch = next(iter(rows))
    carried = evaluate(model, rows.take(3), steps=3)["loss"]
    fresh = np.mean(
        [evaluate(model, tf.data.Dataset.from_tensors(b))["loss"] for b in rows.take(3)]
    )
    assert first_batch[0].shape == (4, 8)
    assert carried != pytest.approx(fresh, rel=1e-4)


def test_evaluate_refuses_batches_that_are_not_the_stateful_batch_size():
    data = _data()
    model = _stateful_lstm(data)
    model(np.ones((4, 8), "int32"))
    with pytest.raises(ValueError, match=r"exactly its `batch_size` rows.*3 rows, batch_size=4"):
        evaluate(model, tf.data.Dataset.from_tensors((np.ones((3, 8)), np.ones((3, 8)))))


@pytest.mark.parametrize(
    ("model_batch", "overrides", "message"),
    [
        (3, {}, r"batch_size=3, data batch_size=4"),
        (4, {"stride": 2}, r"`stride` does not apply to a stateful model.*stride=2"),
        (4, {"strategy": "mirrored"}, r"trains on one device.*strategy='mirrored'"),
    ],
)
def test_stateful_training_refuses_what_breaks_the_rows(model_batch, overrides, message):
    data = _data()
    model = _stateful_lstm(data, batch_size=model_batch)
    with pytest.raises(ValueError, match=message):
        train(model, data, epochs=1, steps_per_epoch=2, verbose=0, **overrides)


_CHILD = """
import sys
import keras, numpy as np
sys.path.insert(0, {tests!r})
from test_stateful import _data, _stateful_lstm
from tlm.training import train

out = sys.argv[1]
data = _data()

class Crash(keras.callbacks.Callback):
    # Fails in the middle of epoch 2, after the backup of step 6.
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 8:
            raise RuntimeError("crash")

def run(out, callbacks=()):
    return train(_stateful_lstm(data, seed=1), data, epochs=3, steps_per_epoch=5, seed=0,
                 deterministic=True, backup_every_steps=3, out=out, callbacks=list(callbacks),
                 verbose=0)

try:
    run(out, [Crash()])
except RuntimeError:
    print("CRASHED", flush=True)
resumed = run(out)
full = run(out + "-full")
print("STEP", resumed.steps)
diff = max(np.abs(a - b).max() for a, b in
           zip(resumed.model.get_weights(), full.model.get_weights()))
print("MAXDIFF", diff)
"""


@pytest.mark.slow
def test_a_stateful_run_resumed_mid_epoch_ends_with_the_same_weights_and_state(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=os.path.dirname(__file__)))
    finished = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in finished.stdout.splitlines() if " " in line)
    assert "CRASHED" in finished.stdout
    assert lines["STEP"] == "15"
    # get_weights() includes the carried state: it too matches the uninterrupted run.
    assert float(lines["MAXDIFF"]) == 0.0


# --- initialisation and the Zaremba presets ---------------------------------------------------


def test_init_scale_draws_every_weight_uniformly_with_zero_biases():
    model = build_model("lstm", 50, "tiny", init_scale=0.01)
    model(np.ones((1, 3), "int32"))
    for variable in model.trainable_variables:
        values = variable.numpy()
        if "bias" in variable.path:
            assert not values.any(), variable.path  # no forget-gate bias either
        else:
            assert 0 < np.abs(values).max() <= 0.01, variable.path
    with pytest.raises(ValueError, match=r"`init_scale` must be None or a number > 0.*-1"):
        build_model("lstm", 50, "tiny", init_scale=-1)


def test_the_zaremba_presets_are_the_papers_recipes():
    small = TRAINING_PRESETS["zaremba-small"]
    model = small.build_model(10_001)
    assert (model.hidden_dim, model.embedding_dim, model.num_layers) == (200, 200, 2)
    assert (model.stateful, model.batch_size, model.init_scale, model.dropout) == (
        True,
        20,
        0.1,
        0.0,
    )
    config = small.config
    assert (config.optimizer, config.momentum, config.epochs) == ("sgd", 0.0, 13)
    # The paper's lr 1 and clip 5 on the loss summed over 20 steps, for Keras's mean loss.
    assert config.learning_rate == 20.0 and config.global_clipnorm == 0.25
    assert (config.schedule, config.decay_rate, config.constant_epochs) == ("epoch_decay", 0.5, 4)
    assert small.published == {"validation": 120.7, "test": 114.5}
    large = TRAINING_PRESETS["zaremba-large"]
    assert (large.sequence_length, large.config.global_clipnorm) == (35, 10 / 35)
    stateless = small.build_model(100, stateful=False)
    assert not stateless.stateful and stateless.batch_size is None


def test_a_comparison_on_ptb_states_the_published_lstm_figure_for_orientation():
    from tlm.compare.report import published_figures

    (paragraph,) = published_figures({"corpus": "ptb", "tokenizer": "word"})
    assert "test perplexity of 114.5 (validation 120.7)" in paragraph
    assert "13 epochs" in paragraph and "zaremba-small" in paragraph
    assert published_figures({"corpus": "ptb", "tokenizer": "char"}) == []
    assert published_figures({"corpus": "shakespeare", "tokenizer": "word"}) == []
