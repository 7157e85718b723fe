"""One-call training: `train(model, data, ...)` compiles, fits and writes a run directory.

Taught in notebooks/03_lstm_language_model.ipynb and 04_transformer_language_model.ipynb. It is
plain `model.fit` with the callbacks of `tlm.training.callbacks`; what it adds is bookkeeping:

- the loss is sparse categorical cross-entropy on logits with padding (`pad_id`) ignored, and
  the `Perplexity` metric is tracked while training;
- validation perplexity and bits per character come from `PerplexityCallback` each epoch;
- batches come from `tlm.training.batches.lm_batches`, whose order depends only on
  `(seed, step)`, so a run resumed from its `backup/` after a crash, even a SIGKILL in the
  middle of an epoch, trains on exactly the batches the uninterrupted run would. `fit` itself
  can only start at an epoch boundary, so an interrupted epoch is finished by a first, short
  `fit` call (the epoch's remaining steps), and the later epochs by a second one. With
  `seed` and `deterministic=True` (op determinism) the resumed run ends with the same weights
  as an uninterrupted one. Dropout masks are the exception: Keras' random-seed state is not
  part of a backup, so runs with dropout resume statistically, not bit for bit;
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
import time

import keras
import tensorflow as tf

from tlm.training import runs
from tlm.training.batches import count_windows, lm_batches
from tlm.training.callbacks import (
    PerplexityCallback,
    TerminateOnNaN,
    TextGenerationCallback,
    ThroughputCallback,
    TimeBudget,
    tensorboard_available,
    weights_are_finite,
)
from tlm.training.metrics import Perplexity
from tlm.training.optimizers import OPTIMIZERS, make_optimizer
from tlm.training.placement import (
    MIXED_PRECISION_POLICIES,
    make_strategy,
    place_model,
    resolve_jit_compile,
)
from tlm.training.schedules import WarmupCosineDecay


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


def train(
    model,
    data,
    *,
    epochs=1,
    steps_per_epoch=None,
    optimizer="adamw",
    learning_rate=1e-3,
    min_learning_rate=None,
    warmup_steps=0,
    weight_decay=0.1,
    beta_1=0.9,
    beta_2=0.99,
    momentum=0.9,
    clipnorm=None,
    global_clipnorm=None,
    stride=None,
    seed=None,
    deterministic=False,
    mixed_precision=None,
    strategy=None,
    time_budget=None,
    out=None,
    backup_every_steps=None,
    evaluate_every_steps=None,
    sample_prompts=None,
    sample_every_n_epochs=1,
    sample_max_new_tokens=100,
    steps_per_execution=1,
    jit_compile="auto",
    data_config=None,
    callbacks=None,
    verbose="auto",
):
    """Train `model` on `data` with `model.fit`; write a run directory when `out` is given.

    Args:
        model: a Keras language model, `token_ids (batch, time) -> logits`.
        data: `tlm.data.LMData` (uses `train_ids`, `validation`, `tokenizer`,
            `sequence_length`, `batch_size`, `characters_per_token`).
        epochs: int >= 1.
        steps_per_epoch: int or None (one pass over the training windows).
        optimizer: "adamw" (decoupled weight decay on matrices only, as nanoGPT), "adam",
            "sgd" (with `momentum`), or a `keras.optimizers.Optimizer`.
        learning_rate: float > 0, the peak learning rate.
        min_learning_rate: float, floor of the cosine decay; defaults to learning_rate / 10.
            Equal to `learning_rate` for a constant rate after warm-up.
        warmup_steps: int, linear warm-up steps (`WarmupCosineDecay`).
        weight_decay: float, AdamW's decoupled weight decay.
        beta_1: float, Adam's first-moment decay.
        beta_2: float, Adam's second-moment decay (0.99 as nanoGPT).
        momentum: float, SGD's momentum.
        clipnorm: float or None, clip each gradient to this norm.
        global_clipnorm: float or None, clip all gradients together to this norm.
        stride: int, offset between training windows (default `sequence_length`; 1 samples
            every offset as nanoGPT does).
        seed: int, seeds Keras (dropout, sampling) and the batch order.
        deterministic: bool, enable TensorFlow op determinism (process-wide, irreversible).
        mixed_precision: None, "mixed_bfloat16" or "mixed_float16".
        strategy: None, "mirrored", or a `tf.distribute.Strategy`.
        time_budget: seconds or None; training stops cleanly after this wall time.
        out: run directory or None. An unfinished run of the same model there is resumed
            from its backup; a finished one is an error.
        backup_every_steps: int or None, back up every this many steps (always at epoch ends).
        evaluate_every_steps: int or None, also evaluate validation every this many steps.
        sample_prompts: str, list of str or None; sample text after epochs with them.
        sample_every_n_epochs: int, sample text every this many epochs.
        sample_max_new_tokens: int, length of each sample in tokens.
        steps_per_execution: int, steps per compiled call (fewer Python round trips).
        jit_compile: "auto", True or False, XLA for the train step. "auto" is XLA for the
            Transformer, where it is faster, and Keras's choice otherwise
            (`tlm.training.placement.resolve_jit_compile`).
        data_config: dict merged into config.json's "data" (e.g. the corpus argument).
        callbacks: extra Keras callbacks, called after the validation callback.
        verbose: Keras verbosity ("auto", 0, 1, 2).

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
    check_arguments(
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        optimizer=optimizer,
        learning_rate=learning_rate,
        mixed_precision=mixed_precision,
        clipnorm=clipnorm,
        global_clipnorm=global_clipnorm,
        time_budget=time_budget,
    )
    if isinstance(strategy, str):
        strategy = make_strategy(strategy)
    sequence_length, batch_size = int(data.sequence_length), int(data.batch_size)
    stride = stride or sequence_length
    windows = count_windows(len(data.train_ids), sequence_length, stride)
    if windows < batch_size:
        raise ValueError(
            "The training split is too small for one batch: it holds "
            f"{windows} windows of sequence_length + 1 tokens, fewer than batch_size. Received: "
            f"{len(data.train_ids)} tokens, sequence_length={sequence_length}, "
            f"batch_size={batch_size}"
        )
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
    steps_per_epoch = steps_per_epoch or windows // batch_size
    total_steps = epochs * steps_per_epoch

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    if seed is not None:
        keras.utils.set_random_seed(seed)
        data_seed = seed
    elif existing and "data_seed" in existing.get("training", {}):
        data_seed = existing["training"]["data_seed"]
    else:
        data_seed = random.randrange(2**31)
    model = place_model(model, mixed_precision, strategy, sequence_length)
    pad_id = getattr(data.tokenizer, "pad_id", None)
    with strategy.scope() if strategy else contextlib.nullcontext():
        schedule = WarmupCosineDecay(
            learning_rate,
            warmup_steps,
            max(total_steps - warmup_steps, 0),
            learning_rate / 10 if min_learning_rate is None else min_learning_rate,
        )
        model.compile(
            optimizer=make_optimizer(
                optimizer,
                schedule,
                model=model,
                weight_decay=weight_decay,
                beta_1=beta_1,
                beta_2=beta_2,
                momentum=momentum,
                clipnorm=clipnorm,
                global_clipnorm=global_clipnorm,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=pad_id),
            metrics=[Perplexity(mask_token_id=pad_id)],
            steps_per_execution=steps_per_execution,
            jit_compile=resolve_jit_compile(model, jit_compile, strategy),
        )

    settings = {
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "optimizer": str(optimizer),
        "learning_rate": learning_rate,
        "min_learning_rate": schedule.min_learning_rate,
        "warmup_steps": warmup_steps,
        "weight_decay": weight_decay,
        "beta_1": beta_1,
        "beta_2": beta_2,
        "momentum": momentum,
        "clipnorm": clipnorm,
        "global_clipnorm": global_clipnorm,
        "stride": stride,
        "seed": seed,
        "data_seed": data_seed,
        "deterministic": deterministic,
        "mixed_precision": mixed_precision,
        "time_budget": time_budget,
        "strategy": type(strategy).__name__ if strategy else None,
        "num_replicas": strategy.num_replicas_in_sync if strategy else 1,
        "parameters": int(model.count_params()),
    }
    backup = None
    if out:
        os.makedirs(out, exist_ok=True)
        runs.write_json(
            os.path.join(out, runs.CONFIG_FILE), _run_config(model, data, settings, data_config)
        )
        if not os.path.isdir(os.path.join(out, runs.TOKENIZER_DIR)):
            data.tokenizer.save(os.path.join(out, runs.TOKENIZER_DIR))
        backup = runs.ResumableBackup(
            os.path.join(out, runs.BACKUP_DIR), save_freq=backup_every_steps or "epoch"
        )
    start_step = backup.restore(model) if backup else 0

    log_dir = os.path.join(out, runs.LOGS_DIR) if out else None
    characters_per_token = (getattr(data, "characters_per_token", None) or {}).get("validation")
    nan_guard = TerminateOnNaN()
    throughput = ThroughputCallback(batch_size * sequence_length)
    budget = TimeBudget(time_budget) if time_budget else None
    history_writer = runs.HistoryWriter(out)
    all_callbacks = [nan_guard, throughput, budget]
    all_callbacks.append(
        PerplexityCallback(
            data.validation,
            characters_per_token,
            every_n_steps=evaluate_every_steps,
            mask_token_id=pad_id,
            log_dir=log_dir,
        )
    )
    if verbose:
        all_callbacks.append(keras.callbacks.ProgbarLogger())  # after validation: shows it
    if sample_prompts:
        all_callbacks.append(
            TextGenerationCallback(
                data.tokenizer,
                sample_prompts,
                max_new_tokens=sample_max_new_tokens,
                every_n_epochs=sample_every_n_epochs,
                seed=seed or 0,
                log_dir=log_dir,
                verbose=1 if verbose else 0,
            )
        )
    all_callbacks += list(callbacks or []) + [history_writer]
    if out:
        best = [v for v in history_writer.history.get("val_perplexity", []) if v is not None]
        all_callbacks += [
            runs.BestModelCheckpoint(
                os.path.join(out, runs.MODEL_FILE),
                initial_value_threshold=min(best) if best else None,
            ),
            backup,
        ]
        os.makedirs(log_dir, exist_ok=True)
        if tensorboard_available():
            all_callbacks.append(keras.callbacks.TensorBoard(log_dir, profile_batch=0))
    all_callbacks = [callback for callback in all_callbacks if callback is not None]

    # An interrupted epoch is finished first (its remaining steps), then the whole epochs.
    phases, epoch, done = [], *divmod(start_step, steps_per_epoch)
    if done and epoch < epochs:
        phases.append((epoch, steps_per_epoch - done))
        epoch += 1
    phases += [(epoch, steps_per_epoch)] if epoch < epochs else []
    started = time.monotonic()
    step = start_step
    for first_epoch, steps in phases:
        stream = lm_batches(
            data.train_ids,
            sequence_length,
            batch_size,
            stride=stride,
            seed=data_seed,
            start_step=step,
        )
        last_epoch = first_epoch + 1 if steps != steps_per_epoch else epochs
        model.fit(
            stream,
            epochs=last_epoch,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            callbacks=all_callbacks,
            verbose=verbose,
            shuffle=False,  # the stream is already shuffled, resumably
        )
        step = int(model.optimizer.iterations.numpy())
        if nan_guard.terminated or (budget and budget.stopped):
            break
    wall_time = time.monotonic() - started
    stopped = (
        "nan" if nan_guard.terminated else "time_budget" if budget and budget.stopped else None
    )

    history = history_writer.history
    if out:
        model_path = os.path.join(out, runs.MODEL_FILE)
        if not os.path.exists(model_path) and weights_are_finite(model):
            model.save(model_path)
        from tlm.plotting import plot_training_curves

        plot_training_curves(history, os.path.join(out, runs.CURVES_FILE), title=out)
        if step >= total_steps and not stopped:
            shutil.rmtree(os.path.join(out, runs.BACKUP_DIR), ignore_errors=True)
    return TrainResult(model, history, out, wall_time, throughput.tokens_per_second, step, stopped)


def check_arguments(
    *,
    epochs=1,
    steps_per_epoch=None,
    optimizer="adamw",
    learning_rate=1e-3,
    mixed_precision=None,
    clipnorm=None,
    global_clipnorm=None,
    time_budget=None,
):
    """Raise ValueError for a bad training setting (before any data or model work).

    Example:

    >>> check_arguments(epochs=0)
    Traceback (most recent call last):
    ...
    ValueError: `epochs` must be an integer >= 1. Received: epochs=0
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"`epochs` must be an integer >= 1. Received: epochs={epochs!r}")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(
            f"`steps_per_epoch` must be >= 1 or None. Received: steps_per_epoch={steps_per_epoch}"
        )
    if not isinstance(optimizer, keras.optimizers.Optimizer) and optimizer not in OPTIMIZERS:
        raise ValueError(
            f"`optimizer` must be one of {OPTIMIZERS}. Received: optimizer={optimizer!r}"
        )
    if not learning_rate > 0:
        raise ValueError(
            f"`learning_rate` must be positive. Received: learning_rate={learning_rate}"
        )
    if mixed_precision not in (None, *MIXED_PRECISION_POLICIES):
        raise ValueError(
            f"`mixed_precision` must be None or one of {MIXED_PRECISION_POLICIES}. "
            f"Received: mixed_precision={mixed_precision!r}"
        )
    if clipnorm and global_clipnorm:
        raise ValueError(
            "Set only one of `clipnorm` and `global_clipnorm`. Received: "
            f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}"
        )
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"`time_budget` must be positive. Received: time_budget={time_budget}")


def _run_config(model, data, settings, data_config):
    tokenizer = data.tokenizer
    corpus = getattr(data, "corpus", None)
    data_settings = {
        "corpus": getattr(corpus, "name", corpus),
        "tokenizer": getattr(tokenizer, "kind", type(tokenizer).__name__),
        "vocabulary_size": int(tokenizer.vocabulary_size),
        "sequence_length": int(data.sequence_length),
        "batch_size": int(data.batch_size),
        "characters_per_token": getattr(data, "characters_per_token", None),
        **(data_config or {}),
    }
    return {
        "tlm_run": runs.RUN_FORMAT,
        "model": runs.model_description(model),
        "data": data_settings,
        "training": settings,
    }
