"""Run directories: what `tlm.training.train` writes and what `load_run` reads back.

A run directory holds everything needed to evaluate, sample from or resume a training run:

    model.keras           best model so far by validation perplexity (Keras v3 format)
    tokenizer/            the tokenizer (`Tokenizer.save`)
    config.json           {"tlm_run": 2, "model": {"kind", "config"}, "data": {...},
                           "training": TrainConfig.record(), "plan": {steps_per_epoch,
                           data_seed, ...}}
    history.json          per-epoch logs, Keras `History` style: {"epoch": [1, 2, ...], ...}
    logs/                 TensorBoard event files
    training_curves.png   loss and perplexity, train vs validation
    backup/               the latest training state while a run is unfinished (deleted at the end)
    .lock                 while `train` writes the run: who writes it (`tlm.training.lock`)

config.json is written before training starts, so an unfinished run is recognisable and a
resumed run can be checked against the model and the training settings it started with. The
checkpoint callbacks here refuse to write non-finite weights, so a NaN never overwrites a good
model or backup.
"""

import dataclasses
import json
import math
import os
import zipfile

import keras
import numpy as np

from tlm.data.tokenizers import load_tokenizer
from tlm.files import atomic_path, write_text_atomically
from tlm.models import kind_of
from tlm.training.callbacks import weights_are_finite
from tlm.training.lock import LOCK_FILE

# 2: "training" is the TrainConfig as given, "plan" what train derived (1 mixed the two).
RUN_FORMAT = 2
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
TOKENIZER_DIR = "tokenizer"
LOGS_DIR = "logs"
BACKUP_DIR = "backup"
CURVES_FILE = "training_curves.png"
# Keys of `get_config()` that name an instance rather than describe the model.
_INSTANCE_KEYS = ("name", "trainable", "dtype")


@dataclasses.dataclass
class Run:
    """A trained model with its tokenizer and settings, as `load_run` returns it."""

    model: keras.Model
    tokenizer: object
    config: dict
    path: str


def model_description(model):
    """`{"kind": ..., "config": ...}` for config.json, JSON-clean."""
    return _json_clean({"kind": kind_of(model), "config": model.get_config()})


def read_config(path):
    """The config.json of run directory `path`, or None if there is none."""
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        return None
    with open(config_path, encoding="utf-8") as file:
        config = json.load(file)
    return config if isinstance(config, dict) and config.get("tlm_run") else None


def write_json(path, value):
    """Write `value` as JSON to `path` atomically (write a temporary file, then rename)."""
    write_text_atomically(path, json.dumps(_json_clean(value), indent=2) + "\n")


def check_run_directory(out, model):
    """Check that `out` can hold a run of `model`; return its existing config or None.

    A missing or empty folder starts a new run. A folder holding a tlm run of the same model
    (same kind and config, instance names aside) is resumed. Anything else is an error.
    `model=None` checks only that an existing folder is a tlm run.
    """
    if not os.path.exists(out) or (
        os.path.isdir(out) and not [name for name in os.listdir(out) if name != LOCK_FILE]
    ):
        return None
    config = read_config(out) if os.path.isdir(out) else None
    if config is None:
        raise ValueError(
            "`out` exists and is not a tlm run directory (it has no config.json with "
            f'"tlm_run"). Choose a new folder. Received: out={out!r}'
        )
    if model is None:
        return config
    saved, current = _comparable(config.get("model", {})), _comparable(model_description(model))
    if saved != current:
        differences = sorted(
            key
            for key in set(saved["config"]) | set(current["config"])
            if saved["config"].get(key) != current["config"].get(key)
        )
        if saved["kind"] != current["kind"]:
            differences.insert(0, "kind")
        raise ValueError(
            "Resuming needs the same model config as the run in `out`. Received: "
            f"out={out!r}, differing settings: "
            + ", ".join(
                f"{key}={_lookup(saved, key)!r} (saved) vs {_lookup(current, key)!r}"
                for key in differences
            )
        )
    return config


def is_finished(path):
    """True when run directory `path` has a saved model and no backup left to resume from."""
    return os.path.isfile(os.path.join(path, MODEL_FILE)) and not os.path.isdir(
        os.path.join(path, BACKUP_DIR)
    )


def _lookup(description, key):
    return description["kind"] if key == "kind" else description["config"].get(key)


def _comparable(description):
    config = {
        key: value
        for key, value in description.get("config", {}).items()
        if key not in _INSTANCE_KEYS
    }
    return {"kind": description.get("kind"), "config": config}


def read_history(path):
    """history.json of run directory `path` as a dict of lists (empty when missing)."""
    history_path = os.path.join(path, HISTORY_FILE)
    if not os.path.isfile(history_path):
        return {}
    with open(history_path, encoding="utf-8") as file:
        return json.load(file)


def load_run(path, compile=False):
    """Load a run directory (or a `.keras` file whose folder holds `tokenizer/`).

    `tlm.pretrained.load_run_or_preset` also takes a keras_hub GPT-2 preset (what `tlm generate`
    and `tlm evaluate` call).

    The model loads with `safe_mode=True`; tlm's layers and models register themselves when
    `tlm.models` is imported, which this module does. A model kind of your own must be
    registered (`keras.saving.register_keras_serializable`) before its runs load.

    Args:
        path: a run directory, or the path of a `.keras` file inside one.
        compile: bool, also restore the optimizer and loss (to continue training by hand).

    Returns:
        `Run(model, tokenizer, config, path)`.

    Example:

    >>> run = load_run("runs/shakespeare-char")  # doctest: +SKIP
    >>> run.model, run.tokenizer.vocabulary_size, run.config["data"]["corpus"]  # doctest: +SKIP
    """
    if os.path.isfile(path) and path.endswith(".keras"):
        model_path, directory = path, os.path.dirname(os.path.abspath(path))
    elif os.path.isdir(path):
        model_path, directory = os.path.join(path, MODEL_FILE), path
    else:
        raise FileNotFoundError(
            f"`path` must be a run directory or a .keras file. Received: path={path!r}"
        )
    config = read_config(directory)
    if config is None and model_path == os.path.join(path, MODEL_FILE):
        raise ValueError(
            "`path` is not a tlm run directory (it has no config.json with "
            f'"tlm_run"). Received: path={path!r}'
        )
    if not os.path.isfile(model_path):
        raise FileNotFoundError(
            f"The run has no saved model ({MODEL_FILE}); was it trained for at least one "
            f"epoch? Received: path={path!r}"
        )
    tokenizer_path = os.path.join(directory, TOKENIZER_DIR)
    if not os.path.isdir(tokenizer_path):
        raise FileNotFoundError(
            f"The run has no `{TOKENIZER_DIR}/` folder beside its model. Received: path={path!r}"
        )
    kind = (config or {}).get("model", {}).get("kind")
    try:
        model = keras.saving.load_model(model_path, safe_mode=True, compile=compile)
    except TypeError as error:
        if "Could not locate class" not in str(error):
            raise
        raise ValueError(
            f"The run's model class is not registered in this process (kind {kind!r}): import "
            "the module that defines it (with `keras.saving.register_keras_serializable` and "
            f"`tlm.models.register_model_kind`) before loading. Received: path={path!r}"
        ) from error
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"The run's model file {model_path!r} cannot be loaded: it is damaged or not a "
            f"Keras model file ({type(error).__name__}: {error}). Received: path={path!r}"
        ) from error
    tokenizer = load_tokenizer(tokenizer_path)
    _check_agreement(model, tokenizer, config or {}, path)
    return Run(model, tokenizer, config or {}, directory)


def _check_agreement(model, tokenizer, config, path):
    """The model, its tokenizer and the recorded config must belong together."""
    vocabulary_size = getattr(model, "vocabulary_size", None)
    if vocabulary_size is not None and vocabulary_size != tokenizer.vocabulary_size:
        raise ValueError(
            "The run's model and tokenizer disagree on the vocabulary size: the model has "
            f"{vocabulary_size} outputs, the tokenizer {tokenizer.vocabulary_size} tokens. "
            f"Received: path={path!r}"
        )
    kind = config.get("model", {}).get("kind")
    if kind is not None and kind != kind_of(model):
        raise ValueError(
            f"The run's config.json records a {kind!r} model but model.keras holds a "
            f"{kind_of(model)!r} one. Received: path={path!r}"
        )
    recorded = config.get("data", {}).get("sequence_length")
    context = getattr(model, "context_length", None)
    if recorded is not None and context is not None and recorded > context:
        raise ValueError(
            f"The run's config.json records training windows of {recorded} tokens but "
            f"model.keras has a context of {context} tokens. Received: path={path!r}"
        )


class HistoryWriter(keras.callbacks.Callback):
    """Write history.json after every epoch, keeping the epochs of an interrupted run.

    Entries for epochs before the current one are kept from the existing file, so a resumed run
    ends with one history covering all its epochs. Adds `epoch` (1-based) and `step` (optimizer
    steps so far). Missing values are written as null.

    Args:
        directory: the run directory, or None to keep the history in memory only.

    Example:

    >>> writer = HistoryWriter()
    >>> writer.records = [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5, "val_loss": 1.7}]
    >>> writer.history
    {'epoch': [1, 2], 'loss': [2.0, 1.5], 'val_loss': [None, 1.7]}
    """

    def __init__(self, directory=None):
        super().__init__()
        self.directory = directory
        self.records = _records(read_history(directory)) if directory else []

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1, "step": int(self.model.optimizer.iterations.numpy())}
        record.update({key: float(value) for key, value in (logs or {}).items()})
        self.records = [r for r in self.records if r["epoch"] < epoch + 1] + [record]
        if self.directory:
            write_json(os.path.join(self.directory, HISTORY_FILE), self.history)

    @property
    def history(self):
        """The records as a dict of lists, Keras `History.history` style, plus `epoch`."""
        keys = list(dict.fromkeys(key for record in self.records for key in record))
        return {key: [record.get(key) for record in self.records] for key in keys}


def _records(history):
    length = len(history.get("epoch", []))
    return [{key: values[i] for key, values in history.items()} for i in range(length)]


class BestModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` of the best model that never saves non-finite weights.

    Monitors `val_perplexity` (lower is better) by default. `initial_value_threshold` lets a
    resumed run keep the best model of its earlier epochs.

    Args:
        filepath: where to save, a `.keras` path.
        monitor: the logged value to minimise.
        initial_value_threshold: float or None, the best value so far.
        **kwargs: passed to `keras.callbacks.ModelCheckpoint`.

    Example:

    >>> BestModelCheckpoint("run/model.keras").monitor
    'val_perplexity'
    """

    def __init__(self, filepath, monitor="val_perplexity", initial_value_threshold=None, **kwargs):
        super().__init__(
            filepath,
            monitor=monitor,
            mode="min",
            save_best_only=True,
            initial_value_threshold=initial_value_threshold,
            **kwargs,
        )

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)) or not weights_are_finite(self.model):
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self, epoch, batch, logs):
        # Keras would write straight to `filepath`, and a full disk would leave a truncated
        # model.keras that looks like a finished run: save beside it and rename, all or nothing.
        current = (logs or {}).get(self.monitor)
        if not self._is_improvement(current, self.best):
            return
        with atomic_path(self.filepath, suffix=".keras") as temporary:
            self.model.save(temporary, overwrite=True)
        self.best = current


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that resumes at the exact optimizer step, mid-epoch included.

    Keras' callback records the epoch only, and restarts an interrupted epoch from its first
    batch even when the weights come from its middle. This subclass keeps Keras' file layout
    (`latest.weights.h5`, which holds the model and optimizer variables, and
    `training_metadata.json`) but:

    - saves every `save_freq` optimizer steps *and* at every epoch end, writing to a temporary
      file first so a kill during a save leaves the previous backup intact;
    - records the global step, which `tlm.training.train` reads before calling `fit` (see
      `restore`) to skip the batches already consumed and to shorten the interrupted epoch;
    - never saves non-finite weights, and leaves deleting the backup to `train`, which does it
      once the whole run has finished.

    Args:
        backup_dir: folder of the backup.
        save_freq: int steps, or "epoch" for epoch ends only.

    Example:

    >>> backup = ResumableBackup("run/backup", save_freq=100)
    >>> step = backup.restore(model)  # 0 for a new run  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch"):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=False)

    def restore(self, model):
        """Load the backup into `model` (weights and optimizer); return the step, 0 if none."""
        if not os.path.isfile(self._weights_path):
            return 0
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self._weights_path)
        return int(model.optimizer.iterations.numpy())

    def save(self):
        """Save the training state now (as at a `save_freq` step); `train` does on Ctrl-C."""
        self._save_model()

    def on_train_begin(self, logs=None):
        # Nothing to load: `train` restored the state before `fit`, and knows where to resume.
        self._last_step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # With `steps_per_execution` > 1 this runs every few steps: save when a multiple of
        # `save_freq` was crossed since the last call.
        step = int(self.model.optimizer.iterations.numpy())
        previous, self._last_step = self._last_step, step
        if step // self.save_freq > previous // self.save_freq:
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._save_model()

    def on_train_end(self, logs=None):
        pass

    def _save_model(self):
        if not weights_are_finite(self.model):
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        # No space, an interrupt: the previous backup stays whole, and no temporary stays.
        with atomic_path(self._weights_path, suffix=".weights.h5") as temporary:
            self.model.save_weights(temporary, overwrite=True)
        step = int(self.model.optimizer.iterations.numpy())
        write_json(self._training_metadata_path, {"epoch": self._current_epoch, "step": step})


def _json_clean(value):
    """Make `value` JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(key): _json_clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
