"""One-call training: `train(model, data, config)` compiles, fits and writes a run directory.

Taught in notebooks/03_lstm_language_model.ipynb and 04_transformer_language_model.ipynb. It is
plain `model.fit` with the callbacks of `tlm.training.callbacks`; what it adds is bookkeeping:

- the loss is sparse categorical cross-entropy on logits with padding (`pad_id`) ignored, and
  the `Perplexity` metric is tracked while training;
- every choice is a field of `TrainConfig`, recorded whole in the run's config.json, with
  what `train` derived from it and the data (the step plan) beside it;
- validation perplexity and bits per character come from `PerplexityCallback` each epoch;
- batches come from `tlm.training.batches.lm_batches`, whose order depends only on
  `(seed, step)`, so a run resumed from its `backup/` after a crash, even a SIGKILL in the
  middle of an epoch, trains on exactly the batches the uninterrupted run would. `fit` itself
  can only start at an epoch boundary, so an interrupted epoch is finished by a first, short
  `fit` call (the epoch's remaining steps), and the later epochs by a second one. With
  `seed` and `deterministic=True` (op determinism) the resumed run ends with the same weights
  as an uninterrupted one. Dropout masks are the exception: Keras' random-seed state is not
  part of a backup, so runs with dropout resume statistically, not bit for bit;
- a stateful model (`LSTMLanguageModel(stateful=True)`) trains on contiguous rows
  (`tlm.training.batches.contiguous_batches`: row i of each batch continues row i of the one
  before) with its state carried from batch to batch, zeroed when an epoch starts, and is
  validated the same way; the backup holds the state, so it resumes exactly too;
- distribution goes through `tf.distribute`: the model is rebuilt and compiled inside
  `strategy.scope()` (weights copied), and `fit` splits each global batch across replicas.
  `MirroredStrategy` covers the GPUs (or CPU devices) of one machine;
  `MultiWorkerMirroredStrategy` (several machines, configured by `TF_CONFIG`) and
  `TPUStrategy` (after `tf.tpu.experimental.initialize_tpu_system`) are passed the same way;
- TensorBoard logs go to `logs/` when the `tensorboard` package is installed (TensorFlow no
  longer installs it); without it the folder stays empty;
- mixed precision rebuilds the model under the `mixed_bfloat16` / `mixed_float16` policy; with
  `mixed_float16`, `compile` wraps the optimizer in `LossScaleOptimizer` as Keras does.
"""

import contextlib
import dataclasses
import os
import random
import shutil
import sys
import time

import keras
import tensorflow as tf

from tlm.checks import check_fits_one_batch
from tlm.files import atomic_path
from tlm.plotting import plot_training_curves
from tlm.training import runs
from tlm.training.batches import (
    contiguous_batches,
    count_contiguous_batches,
    count_windows,
    lm_batches,
)
from tlm.training.callbacks import (
    BudgetCallback,
    BudgetProgress,
    PerplexityCallback,
    ResetStatesAtEpochStart,
    TerminateOnNaN,
    TextGenerationCallback,
    ThroughputCallback,
    TimeBudget,
    tensorboard_available,
    weights_are_finite,
)
from tlm.training.config import TrainConfig
from tlm.training.lock import run_lock
from tlm.training.metrics import Perplexity
from tlm.training.optimizers import make_optimizer
from tlm.training.placement import make_strategy, place_model, resolve_jit_compile
from tlm.training.schedules import EpochDecay, WarmupCosineDecay


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the trained model and the figures of the run."""

    model: keras.Model
    history: dict
    run_dir: str | None
    wall_time: float
    tokens_per_second: float
    steps: int
    stopped: str | None  # None, "time_budget" or "nan"


def train(model, data, config=None, out=None, **overrides):
    """Train `model` on `data` with `model.fit`; write a run directory when `out` is given.

    Args:
        model: a language model of a registered kind (`tlm.models.MODEL_KINDS`),
            `token_ids (batch, time) -> logits`.
        data: `tlm.data.LMData` (uses `train_ids`, `validation`, `tokenizer`,
            `sequence_length`, `batch_size`, `characters_per_token`, `corpus`).
        config: a `TrainConfig`, or None for the defaults.
        out: run directory or None. An unfinished run of the same model and the same
            `TrainConfig` there is resumed from its backup; a finished one is an error.
        **overrides: `TrainConfig` fields replacing those of `config`
            (`train(model, data, epochs=2)` is `train(model, data, TrainConfig(epochs=2))`).

    Returns:
        `TrainResult(model, history, run_dir, wall_time, tokens_per_second, steps, stopped)`.
        `model` is the trained model (a rebuilt copy when `strategy` or `mixed_precision`
        asked for one).

    Example:

    >>> data = tlm.data.prepare("tiny_shakespeare", "char")  # doctest: +SKIP
    >>> model = tlm.models.build_model("lstm", data.tokenizer.vocabulary_size)  # doctest: +SKIP
    >>> result = train(model, data, epochs=2, out="runs/tiny")  # doctest: +SKIP
    >>> result.history["val_perplexity"]  # doctest: +SKIP
    """
    config = TrainConfig.from_overrides(config, **overrides)
    if not out:
        return _train(model, data, config, None)
    # One writer per run directory: a second `train` into `out` is refused while this one runs.
    with run_lock(out):
        return _train(model, data, config, out)


def _train(model, data, config, out):
    plan = _plan(model, data, config, out)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    model = place_model(model, config.mixed_precision, strategy, plan.sequence_length)
    compile_for_training(
        model, config, plan.total_steps, getattr(data.tokenizer, "pad_id", None), strategy
    )

    backup = None
    if out:
        os.makedirs(out, exist_ok=True)
        record = _run_record(model, data, config, plan, strategy)
        runs.write_json(os.path.join(out, runs.CONFIG_FILE), record)
        if not os.path.isdir(os.path.join(out, runs.TOKENIZER_DIR)):
            data.tokenizer.save(os.path.join(out, runs.TOKENIZER_DIR))
        backup = runs.ResumableBackup(
            os.path.join(out, runs.BACKUP_DIR), save_freq=config.backup_every_steps or "epoch"
        )
    start_step = backup.restore(model) if backup else 0
    watch = _Callbacks(data, config, plan, out, backup)

    started = time.monotonic()
    step = start_step
    try:
        for first_epoch, last_epoch, steps in _phases(start_step, plan.steps_per_epoch, config):
            stream = _train_stream(data, plan, step)
            model.fit(
                stream,
                epochs=last_epoch,
                initial_epoch=first_epoch,
                steps_per_epoch=steps,
                callbacks=watch.all,
                verbose=0 if watch.shows_budget else config.verbose,
                shuffle=False,  # the stream is already shuffled, resumably
            )
            step = int(model.optimizer.iterations.numpy())
            if watch.stopped:
                break
    except KeyboardInterrupt:
        _save_on_interrupt(model, out, backup, start_step)
        raise
    wall_time = time.monotonic() - started

    history = watch.history_writer.history
    if out:
        _finish_run(model, out, history, finished=step >= plan.total_steps and not watch.stopped)
    return TrainResult(
        model, history, out, wall_time, watch.throughput.tokens_per_second, step, watch.stopped
    )


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What `train` derives from the data and the config before any work."""

    sequence_length: int
    batch_size: int
    stride: int
    steps_per_epoch: int
    total_steps: int
    data_seed: int
    stateful: bool = False  # contiguous rows, state carried across batches (see `_plan`)

    def record(self):
        return dataclasses.asdict(self)


def _plan(model, data, config, out):
    """Check the data against the config and `out`; derive the step plan. Writes nothing."""
    sequence_length, batch_size = int(data.sequence_length), int(data.batch_size)
    stateful = bool(getattr(model, "stateful", False))
    stride = config.stride or sequence_length
    if stateful:
        _check_stateful(model, data, config)
        batches_per_pass = count_contiguous_batches(
            len(data.train_ids), sequence_length, batch_size
        )
    else:
        windows = count_windows(len(data.train_ids), sequence_length, stride)
        check_fits_one_batch(
            "train", len(data.train_ids), windows, sequence_length, batch_size, stride
        )
        batches_per_pass = windows // batch_size
    validation_ids = getattr(data, "validation_ids", None)
    if validation_ids is not None and len(validation_ids) < sequence_length + 1:
        raise ValueError(
            "The validation split is too small for one sequence. Received: "
            f"{len(validation_ids)} tokens, sequence_length={sequence_length}"
        )
    existing = runs.check_run_directory(out, model) if out else None
    if existing and runs.is_finished(out):
        raise ValueError(
            "`out` holds a finished run (it has a model and no backup to resume from). Choose a "
            f"new folder. Received: out={out!r}"
        )
    if existing:
        _check_same_training(existing, config, out)
    if config.seed is not None:
        data_seed = config.seed
    elif existing and "data_seed" in existing.get("plan", {}):
        data_seed = existing["plan"]["data_seed"]
    else:
        data_seed = random.randrange(2**31)
    steps_per_epoch = config.steps_per_epoch or batches_per_pass
    if stateful:
        # Each epoch reads the rows from their start, so it is at most one pass.
        steps_per_epoch = min(steps_per_epoch, batches_per_pass)
    return _Plan(
        sequence_length,
        batch_size,
        stride,
        steps_per_epoch,
        config.epochs * steps_per_epoch,
        data_seed,
        stateful,
    )


def _check_stateful(model, data, config):
    """A stateful model trains on contiguous rows of exactly its batch size, on one device."""
    if int(data.batch_size) != model.batch_size:
        raise ValueError(
            "A stateful model trains on batches of exactly its `batch_size` rows: prepare the "
            "data with the same batch size. Received: model batch_size="
            f"{model.batch_size}, data batch_size={data.batch_size}"
        )
    if config.stride is not None:
        raise ValueError(
            "`stride` does not apply to a stateful model, whose batches are consecutive windows "
            f"of contiguous rows. Received: stride={config.stride}"
        )
    if config.strategy is not None:
        raise ValueError(
            "A stateful model trains on one device: its carried state has a fixed batch size. "
            f"Received: strategy={config.strategy!r}"
        )
    for split in ("train", "validation"):
        ids = getattr(data, f"{split}_ids", None)
        length, rows = int(data.sequence_length), int(data.batch_size)
        if ids is not None and count_contiguous_batches(len(ids), length, rows) < 1:
            raise ValueError(
                f"The {split} split is too small for one batch of contiguous rows: it needs "
                "batch_size rows of at least sequence_length + 1 tokens. Received: "
                f"{len(ids)} tokens, batch_size={rows}, sequence_length={length}"
            )


def _train_stream(data, plan, step):
    """The endless training stream from optimizer step `step` on."""
    if plan.stateful:
        return contiguous_batches(
            data.train_ids,
            plan.sequence_length,
            plan.batch_size,
            steps_per_pass=plan.steps_per_epoch,
            start_step=step,
        )
    return lm_batches(
        data.train_ids,
        plan.sequence_length,
        plan.batch_size,
        stride=plan.stride,
        seed=plan.data_seed,
        start_step=step,
    )


def _validation_batches(data, stateful):
    """The validation batches `train` scores: `data.validation`, or for a stateful model the
    validation split in contiguous rows of its batch size (state carried through the split)."""
    if stateful:
        return contiguous_batches(
            data.validation_ids, int(data.sequence_length), int(data.batch_size), repeat=False
        )
    return data.validation


def _check_same_training(existing, config, out):
    saved = existing.get("training", {})
    differences = config.differences(saved)
    if differences:
        record = config.record()
        raise ValueError(
            "Resuming needs the same training settings as the run in `out`. Received: "
            f"out={out!r}, differing settings: "
            + ", ".join(
                f"{name}={saved.get(name)!r} (saved) vs {record[name]!r}" for name in differences
            )
        )


def compile_for_training(model, config=None, total_steps=None, pad_id=None, strategy=None):
    """Compile `model` the way `train` does, for a training loop of your own (`model.fit`).

    The optimizer of `config` (a `TrainConfig`, default `TrainConfig()`) with its schedule over
    `total_steps` (warm-up and cosine decay, or `EpochDecay` over `config.epochs` equal epochs),
    sparse cross-entropy on logits ignoring `pad_id`, the
    exact `Perplexity` metric, `steps_per_execution`, and `jit_compile` resolved as `train`
    resolves it (XLA for the Transformer). Benchmarks use it to time what `train` runs.

    Args:
        model: a language model returning logits.
        config: a `TrainConfig`; `TrainConfig()` when None.
        total_steps: the steps the schedule spans; None: `epochs * steps_per_epoch` of
            `config`, which must then set `steps_per_epoch`.
        pad_id: the target id to leave out of the loss and the metric (the tokenizer's pad id).
        strategy: a `tf.distribute.Strategy` to build the optimizer under, or None.

    Example:

    >>> from tlm.models import build_model
    >>> model = build_model("lstm", vocabulary_size=20, preset="tiny")
    >>> compile_for_training(model, TrainConfig(steps_per_epoch=100), pad_id=0)
    >>> type(model.optimizer).__name__, model.optimizer.global_clipnorm
    ('AdamW', None)
    """
    config = TrainConfig() if config is None else config
    if total_steps is None:
        if config.steps_per_epoch is None:
            raise ValueError(
                "`total_steps` must be given when the config has no `steps_per_epoch`. "
                f"Received: total_steps=None, steps_per_epoch={config.steps_per_epoch}"
            )
        total_steps = config.epochs * config.steps_per_epoch
    with strategy.scope() if strategy else contextlib.nullcontext():
        schedule = _schedule(config, total_steps)
        model.compile(
            optimizer=make_optimizer(
                config.optimizer,
                schedule,
                model=model,
                weight_decay=config.weight_decay,
                beta_1=config.beta_1,
                beta_2=config.beta_2,
                momentum=config.momentum,
                clipnorm=config.clipnorm,
                global_clipnorm=config.global_clipnorm,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=pad_id),
            metrics=[Perplexity(mask_token_id=pad_id)],
            steps_per_execution=config.steps_per_execution,
            jit_compile=resolve_jit_compile(model, config.jit_compile, strategy),
        )


def _schedule(config, total_steps):
    """The learning-rate schedule of `config` over `total_steps` optimizer steps."""
    if config.schedule == "epoch_decay":
        # `train` plans `epochs` epochs of equal length over `total_steps`.
        steps_per_epoch = max(total_steps // config.epochs, 1)
        return EpochDecay(
            config.learning_rate, steps_per_epoch, config.decay_rate, config.constant_epochs
        )
    return WarmupCosineDecay(
        config.learning_rate,
        config.warmup_steps,
        max(total_steps - config.warmup_steps, 0),
        _min_learning_rate(config),
    )


def _min_learning_rate(config):
    if config.min_learning_rate is None:
        return config.learning_rate / 10
    return config.min_learning_rate


class _Callbacks:
    """The callbacks of one `train` call, in the order they must run."""

    def __init__(self, data, config, plan, out, backup):
        log_dir = os.path.join(out, runs.LOGS_DIR) if out else None
        pad_id = getattr(data.tokenizer, "pad_id", None)
        characters_per_token = (getattr(data, "characters_per_token", None) or {}).get("validation")
        self.nan_guard = TerminateOnNaN()
        self.throughput = ThroughputCallback(plan.batch_size * plan.sequence_length)
        self.budget = TimeBudget(config.time_budget) if config.time_budget else None
        self.history_writer = runs.HistoryWriter(out)
        callbacks = [self.nan_guard, self.throughput, self.budget]
        if plan.stateful:
            callbacks.insert(0, ResetStatesAtEpochStart(plan.steps_per_epoch))
        callbacks.append(
            PerplexityCallback(
                _validation_batches(data, plan.stateful),
                characters_per_token,
                every_n_steps=config.evaluate_every_steps,
                mask_token_id=pad_id,
                log_dir=log_dir,
            )
        )
        # A budget ends training before its planned epochs: show the budget spent instead.
        budgets = [c for c in (self.budget, *config.callbacks) if isinstance(c, BudgetCallback)]
        self.shows_budget = bool(config.verbose and budgets)
        if self.shows_budget:
            callbacks.append(BudgetProgress(budgets[0], verbose=config.verbose))
        elif config.verbose:
            callbacks.append(keras.callbacks.ProgbarLogger())  # after validation: shows it
        if config.sample_prompts:
            callbacks.append(
                TextGenerationCallback(
                    data.tokenizer,
                    list(config.sample_prompts),
                    max_new_tokens=config.sample_max_new_tokens,
                    every_n_epochs=config.sample_every_n_epochs,
                    seed=config.seed or 0,
                    log_dir=log_dir,
                    verbose=1 if config.verbose else 0,
                )
            )
        callbacks += list(config.callbacks) + [self.history_writer]
        if out:
            best = [
                v for v in self.history_writer.history.get("val_perplexity", []) if v is not None
            ]
            callbacks += [
                runs.BestModelCheckpoint(
                    os.path.join(out, runs.MODEL_FILE),
                    initial_value_threshold=min(best) if best else None,
                ),
                backup,
            ]
            os.makedirs(log_dir, exist_ok=True)
            if tensorboard_available():
                callbacks.append(keras.callbacks.TensorBoard(log_dir, profile_batch=0))
        self.all = [callback for callback in callbacks if callback is not None]

    @property
    def stopped(self):
        """None, or why training stopped early: "nan" or "time_budget"."""
        if self.nan_guard.terminated:
            return "nan"
        return "time_budget" if self.budget and self.budget.stopped else None


def _save_on_interrupt(model, out, backup, start_step):
    """Ctrl-C: keep the steps done so far in the backup, and say how to go on.

    Python raises `KeyboardInterrupt` between two compiled steps, so the weights, the optimizer
    and its step counter agree: resuming from them gives the weights of an uninterrupted run.
    """
    step = int(model.optimizer.iterations.numpy())
    if backup is None or step <= start_step:
        return
    backup.save()
    print(
        f"\nInterrupted at step {step:,}: the training state is saved in "
        f"{os.path.join(out, runs.BACKUP_DIR)}. Run the same command (or `train` with the same "
        "out) again to resume from it.",
        file=sys.stderr,
        flush=True,
    )


def _phases(start_step, steps_per_epoch, config):
    """`(first_epoch, last_epoch, steps_per_epoch)` of each `fit` call from `start_step` on.

    `fit` can only start at an epoch boundary: an interrupted epoch is finished first (its
    remaining steps), then the whole epochs.
    """
    phases, (epoch, done) = [], divmod(start_step, steps_per_epoch)
    if done and epoch < config.epochs:
        phases.append((epoch, epoch + 1, steps_per_epoch - done))
        epoch += 1
    if epoch < config.epochs:
        phases.append((epoch, config.epochs, steps_per_epoch))
    return phases


def _finish_run(model, out, history, finished):
    model_path = os.path.join(out, runs.MODEL_FILE)
    if not os.path.exists(model_path) and weights_are_finite(model):
        with atomic_path(model_path, suffix=".keras") as temporary:
            model.save(temporary)
    plot_training_curves(history, os.path.join(out, runs.CURVES_FILE), title=out)
    if finished:
        shutil.rmtree(os.path.join(out, runs.BACKUP_DIR), ignore_errors=True)


def _run_record(model, data, config, plan, strategy):
    """config.json: the model, the data, the `TrainConfig` as given, and the derived plan."""
    tokenizer = data.tokenizer
    corpus = getattr(data, "corpus", None)
    data_settings = {
        "corpus": getattr(corpus, "name", corpus),
        "tokenizer": getattr(tokenizer, "kind", type(tokenizer).__name__),
        "vocabulary_size": int(tokenizer.vocabulary_size),
        "sequence_length": plan.sequence_length,
        "batch_size": plan.batch_size,
        "characters_per_token": getattr(data, "characters_per_token", None),
    }
    resolved = {
        **plan.record(),
        "min_learning_rate": _min_learning_rate(config),
        "jit_compile": resolve_jit_compile(model, config.jit_compile, strategy),
        "num_replicas": strategy.num_replicas_in_sync if strategy else 1,
        "parameters": int(model.count_params()),
    }
    return {
        "tlm_run": runs.RUN_FORMAT,
        "model": runs.model_description(model),
        "data": data_settings,
        "training": config.record(),
        "plan": resolved,
    }
