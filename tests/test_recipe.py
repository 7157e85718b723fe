import json
import os
import re
import signal
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from tlm.data.corpora import Corpus
from tlm.data.pipeline import prepare
from tlm.models import build_model
from tlm.training import TrainConfig, load_run, train
from tlm.training.lock import LOCK_FILE, RunInUseError, run_lock

# Small enough to train in a second, varied enough that the loss moves.
TEXT = "".join(f"{word} {i % 7}\n" for i, word in enumerate(["ab", "bca", "cab", "ba"] * 60))


def _data(sequence_length=8, batch_size=4, text=TEXT):
    corpus = Corpus("toy", text, text[:200], text[200:400], "the same toy text thrice")
    return prepare(corpus, "char", sequence_length=sequence_length, batch_size=batch_size)


def _model(data, kind="transformer", seed=0):
    keras.utils.set_random_seed(seed)
    if kind == "lstm":
        sizes = {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1}
    else:
        sizes = {
            "num_layers": 1,
            "num_heads": 2,
            "hidden_dim": 8,
            "intermediate_dim": 16,
            "sequence_length": data.sequence_length,
        }
    return build_model(kind, data.tokenizer.vocabulary_size, "tiny", **sizes)


def test_train_writes_a_run_directory_that_load_run_reads(tmp_path):
    data = _data()
    out = str(tmp_path / "run")
    result = train(
        _model(data), data, epochs=2, steps_per_epoch=3, seed=0, warmup_steps=2, out=out, verbose=0
    )
    assert sorted(os.listdir(out)) == [
        "config.json",
        "history.json",
        "logs",
        "model.keras",
        "tokenizer",
        "training_curves.png",
    ]  # backup/ is gone once the run is complete
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["tlm_run"] == 2 and config["model"]["kind"] == "transformer"
    assert config["data"]["sequence_length"] == 8 and config["training"]["steps_per_epoch"] == 3
    expected = TrainConfig(epochs=2, steps_per_epoch=3, seed=0, warmup_steps=2).record()
    assert config["training"] == json.loads(json.dumps(expected))  # the config as given
    assert config["plan"]["total_steps"] == 6 and config["plan"]["data_seed"] == 0
    history = json.load(open(os.path.join(out, "history.json")))
    assert history["epoch"] == [1, 2] and history["step"] == [3, 6]
    assert history == result.history and len(history["val_bits_per_character"]) == 2
    assert result.steps == 6 and result.stopped is None and result.tokens_per_second > 0
    run = load_run(out)
    assert run.tokenizer.vocabulary == data.tokenizer.vocabulary
    x, _ = next(iter(data.validation))
    best_epoch = int(np.argmin(history["val_perplexity"]))
    assert run.model(x).shape == (4, 8, data.tokenizer.vocabulary_size)
    assert best_epoch in (0, 1) and load_run(os.path.join(out, "model.keras")).path == out


def test_lstm_trains_through_the_recipe_with_sgd_and_clipping():
    data = _data()
    result = train(
        _model(data, "lstm"),
        data,
        epochs=1,
        steps_per_epoch=4,
        optimizer="sgd",
        learning_rate=0.5,
        clipnorm=1.0,
        verbose=0,
    )
    assert result.history["loss"][0] > 0 and result.run_dir is None


@pytest.mark.slow
def test_the_same_seed_gives_the_same_loss():
    data = _data()
    losses = [
        train(_model(data), data, epochs=1, steps_per_epoch=4, seed=3, verbose=0).history["loss"]
        for _ in range(2)
    ]
    assert losses[0] == losses[1]


def test_time_budget_stops_the_run_keeps_its_backup_and_shows_budget_progress(tmp_path, capsys):
    data = _data()
    out = str(tmp_path / "run")
    result = train(
        _model(data), data, epochs=3, steps_per_epoch=50, time_budget=1e-3, out=out, verbose=2
    )
    assert result.stopped == "time_budget" and result.steps == 1
    assert os.path.isdir(os.path.join(out, "backup")) and os.path.isfile(
        os.path.join(out, "model.keras")
    )
    # One progress line of the budget spent, not Keras' "Epoch 1/3" that never ends.
    printed = capsys.readouterr().out
    assert "Epoch" not in printed
    lines = [line for line in printed.splitlines() if line.startswith("budget ")]
    # The budget counts the compiling first step too, so it ends past its 0.001 s.
    assert re.match(r"budget [\d.,]+/0.001 s .* 100% · step 1 · loss ", lines[-1]), lines[-1]


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_rebuilds_the_model_under_the_policy(policy):
    data = _data()
    result = train(
        _model(data), data, epochs=1, steps_per_epoch=2, mixed_precision=policy, verbose=0
    )
    assert result.model.dtype_policy.name == policy
    scaled = isinstance(result.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")  # float16 needs loss scaling, as Keras does
    assert np.isfinite(result.history["val_loss"][0])
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"optimizer": "rmsprop"}, r"`optimizer` must be one of .*Received: optimizer='rmsprop'"),
        (
            {"learning_rate": 0.0},
            r"`learning_rate` must be a finite number greater than 0. Received: learning_rate=0",
        ),
        ({"learning_rate": -1e-3}, r"`learning_rate` must be a finite number greater than 0"),
        ({"epochs": 0}, r"`epochs` must be an integer of at least 1. Received: epochs=0"),
        ({"mixed_precision": "float16"}, r"`mixed_precision` must be one of None, 'mixed_bf"),
        ({"clipnorm": 1.0, "global_clipnorm": 1.0}, r"Set only one of `clipnorm`"),
        ({"steps_per_epoch": 0}, r"Received: steps_per_epoch=0"),
        ({"min_learning_rate": 1.0}, r"`min_learning_rate` must be at most `learning_rate`"),
        ({"beta_2": 1.5}, r"`beta_2` must be a number in \[0, 1\). Received: beta_2=1.5"),
        ({"sample_prompts": [""]}, r"`sample_prompts` must be None or non-empty strings"),
        ({"epoch": 2}, r"Unknown training setting\(s\): epoch\. Valid: .*epochs"),
        ({"config": {"epochs": 2}}, r"`config` must be a TrainConfig or None"),
    ],
)
def test_bad_settings_are_refused_before_any_work(tmp_path, arguments, message):
    data = _data()
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=message):
        train(_model(data), data, out=str(out), verbose=0, **arguments)
    assert not out.exists()


@pytest.mark.slow
def test_a_config_and_its_overrides_are_one_config(tmp_path):
    data = _data()
    config = TrainConfig(epochs=2, steps_per_epoch=2, learning_rate=3e-3)
    out = str(tmp_path / "run")
    train(_model(data), data, config, out, steps_per_epoch=1, verbose=0)
    recorded = json.load(open(os.path.join(out, "config.json")))["training"]
    assert recorded["steps_per_epoch"] == 1 and recorded["learning_rate"] == 3e-3
    assert "verbose" not in recorded and "callbacks" not in recorded  # not training choices
    assert config.steps_per_epoch == 2  # frozen: the override made a new config


def test_resuming_with_other_settings_or_another_model_is_refused(tmp_path):
    data = _data()
    out = str(tmp_path / "run")
    # The time budget stops the run at its first step, leaving a backup to resume from.
    first = train(
        _model(data), data, out=out, epochs=2, steps_per_epoch=2, time_budget=1e-3, verbose=0
    )
    assert first.stopped == "time_budget"
    with pytest.raises(
        ValueError,
        match=r"Resuming needs the same training settings.*differing settings: learning_rate="
        r"0\.001 \(saved\) vs 0\.002",
    ):
        train(
            _model(data),
            data,
            out=out,
            epochs=2,
            steps_per_epoch=2,
            time_budget=1e-3,
            learning_rate=2e-3,
            verbose=0,
        )
    other = build_model(
        "transformer",
        data.tokenizer.vocabulary_size,
        "tiny",
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=16,
        sequence_length=8,
    )
    with pytest.raises(ValueError, match=r"Resuming needs the same model config.*hidden_dim=8"):
        train(other, data, epochs=2, steps_per_epoch=2, time_budget=1e-3, out=out, verbose=0)


def test_a_corpus_too_small_for_one_batch_is_refused():
    data = _data(batch_size=2)
    data.train_ids = data.train_ids[:20]  # two windows of 9 tokens
    data.batch_size = 3
    with pytest.raises(ValueError, match="The train split is too small for one batch"):
        train(_model(data), data, verbose=0)


def test_an_existing_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    data = _data()
    with pytest.raises(ValueError, match="`out` exists and is not a tlm run directory"):
        train(_model(data), data, out=str(tmp_path), verbose=0)
    assert os.listdir(tmp_path) == ["notes.txt"]


class _PoisonAtStep(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 4:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


def test_a_nan_stops_the_run_and_keeps_the_last_finite_model_and_backup(tmp_path):
    data = _data()
    out = str(tmp_path / "run")
    result = train(
        _model(data),
        data,
        epochs=3,
        steps_per_epoch=3,
        out=out,
        callbacks=[_PoisonAtStep()],
        verbose=0,
    )
    assert result.stopped == "nan" and result.steps == 5
    run = load_run(out)
    assert all(np.isfinite(w).all() for w in run.model.get_weights())
    metadata = json.load(open(os.path.join(out, "backup", "training_metadata.json")))
    assert metadata["step"] == 3  # the epoch-1 backup, not the broken weights


def test_a_finished_run_is_not_trained_again(tmp_path):
    data = _data()
    out = str(tmp_path / "run")
    train(_model(data), data, epochs=1, steps_per_epoch=1, out=out, verbose=0)
    with pytest.raises(ValueError, match="`out` holds a finished run"):
        train(_model(data), data, epochs=1, steps_per_epoch=1, out=out, verbose=0)


_CHILD = """
import os, sys, time
import keras, numpy as np
sys.path.insert(0, {tests!r})
from test_recipe import _data, _model
from tlm.training import train

mode, out = sys.argv[1], sys.argv[2]
data = _data()

class Pause(keras.callbacks.Callback):
    # Stands still in the middle of epoch 2, after the backup of step 6, for the parent to kill.
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 7:
            print("PAUSED", flush=True)
            time.sleep(120)

def run(out, callbacks=()):
    result = train(_model(data, seed=1), data, epochs=3, steps_per_epoch=5, seed=0,
                   deterministic=True, backup_every_steps=3, out=out, callbacks=list(callbacks),
                   jit_compile=False, verbose=0)
    return result

if mode in ("kill", "interrupt"):
    run(out, [Pause()])
else:
    resumed = run(out)
    full = run(out + "-full")
    print("EPOCHS", resumed.history["epoch"], resumed.history["step"])
    diff = max(np.abs(a - b).max() for a, b in
               zip(resumed.model.get_weights(), full.model.get_weights()))
    print("MAXDIFF", diff)
"""


def _child_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def _child_script(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=os.path.dirname(__file__)))
    return script


def _assert_resumes_to_the_same_weights(script, out):
    """Resume the stopped run in `out`; it must end as a run never stopped would."""
    finished = subprocess.run(
        [sys.executable, str(script), "resume", out],
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in finished.stdout.splitlines() if " " in line)
    assert lines["EPOCHS"] == "[1, 2, 3] [5, 10, 15]"
    assert float(lines["MAXDIFF"]) == 0.0


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_to_the_same_weights(tmp_path):
    script, out = _child_script(tmp_path), str(tmp_path / "run")
    child = subprocess.Popen(
        [sys.executable, str(script), "kill", out],
        stdout=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    try:
        for line in child.stdout:
            if line.startswith("PAUSED"):
                break
    finally:
        child.kill()  # SIGKILL: no clean-up runs in the child
        child.wait()
    assert json.load(open(os.path.join(out, "backup", "training_metadata.json")))["step"] == 6
    _assert_resumes_to_the_same_weights(script, out)
    assert not os.path.exists(os.path.join(out, "backup"))


@pytest.mark.slow
def test_ctrl_c_saves_the_backup_and_the_run_resumes_to_the_same_weights(tmp_path):
    script, out = _child_script(tmp_path), str(tmp_path / "run")
    child = subprocess.Popen(
        [sys.executable, str(script), "interrupt", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    try:
        for line in child.stdout:
            if line.startswith("PAUSED"):
                break
        child.send_signal(signal.SIGINT)  # Ctrl-C, during step 7 (the last backup: step 6)
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert "Interrupted at step 7: the training state is saved in" in err
    # The interrupt saved step 7, where the periodic backup had only step 6.
    assert json.load(open(os.path.join(out, "backup", "training_metadata.json")))["step"] == 7
    assert not os.path.exists(os.path.join(out, LOCK_FILE))  # the lock went with the process
    _assert_resumes_to_the_same_weights(script, out)


_TWO_DEVICES = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
sys.path.insert(0, {tests!r})
from test_recipe import _data, _model
from tlm.training import train

data = _data()
losses = []
for strategy in (None, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
    result = train(_model(data, seed=2), data, epochs=2, steps_per_epoch=3, seed=0,
                   strategy=strategy, jit_compile=False, verbose=0)
    losses.append(result.history["loss"] + result.history["val_loss"])
print("REPLICAS", result.model.distribute_strategy.num_replicas_in_sync)
print("ONE", *losses[0])
print("TWO", *losses[1])
"""


@pytest.mark.slow
def test_two_logical_cpu_devices_give_the_same_loss_as_one(tmp_path):
    script = tmp_path / "two_devices.py"
    script.write_text(_TWO_DEVICES.format(tests=os.path.dirname(__file__)))
    finished = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=_child_env(), timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in finished.stdout.splitlines() if " " in line)
    assert lines["REPLICAS"] == "2"
    one = [float(v) for v in lines["ONE"].split()]
    two = [float(v) for v in lines["TWO"].split()]
    np.testing.assert_allclose(two, one, rtol=1e-4)


# One writer per run directory

_TEXT = dict(capture_output=True, text=True, check=True, timeout=60)


def _write_lock(out, pid, host=None):
    out.mkdir(exist_ok=True)
    holder = {"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01T00:00:00"}
    (out / LOCK_FILE).write_text(json.dumps(holder))


def test_a_second_writer_is_refused_while_the_first_holds_the_run(tmp_path):
    out = tmp_path / "run"
    _write_lock(out, os.getpid())  # a live process: this one
    data = _data()
    with pytest.raises(
        RunInUseError,
        match=rf"`out` is being written by process {os.getpid()} on host '.+', started "
        r"2026-01-01T00:00:00\. Wait for it to end or choose another folder\. Received: out=",
    ):
        train(_model(data), data, out=str(out), epochs=1, steps_per_epoch=1, verbose=0)
    assert [path.name for path in out.iterdir()] == [LOCK_FILE]  # nothing written, lock kept


def test_a_lock_from_another_host_is_refused_with_the_file_to_delete(tmp_path):
    out = tmp_path / "run"
    _write_lock(out, 1, host="another-host")
    with pytest.raises(RunInUseError, match=r"If that host no longer uses it, delete '.+\.lock'"):
        with run_lock(str(out)):
            pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, capsys):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_TEXT)
    dead = int(finished.stdout)
    out = tmp_path / "run"
    _write_lock(out, dead)
    with run_lock(str(out)) as path:
        assert json.loads(open(path).read())["pid"] == os.getpid()  # this process holds it
    err = capsys.readouterr().err
    assert f"taking over the lock of {str(out)!r} left by process {dead} " in err
    assert not (out / LOCK_FILE).exists() and out.is_dir()  # released; the folder was there


def test_the_lock_holds_across_processes_and_is_released(tmp_path):
    out = str(tmp_path / "run")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from tlm.training.lock import run_lock\n"
            "with run_lock(sys.argv[1]):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.readline()\n",
            out,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInUseError, match=f"process {holder.pid} "):
            with run_lock(out):
                pass
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    with run_lock(out):  # released: free to take
        pass
    assert not os.path.exists(out)  # created empty by the holder's lock, removed again
