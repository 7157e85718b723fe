"""Callbacks for `model.fit`: validation perplexity, text samples, throughput, budgets, NaNs.

Taught in notebooks/03_lstm_language_model.ipynb (perplexity, samples while training) and
04_transformer_language_model.ipynb (throughput, time budget). Each callback gets everything it
needs through its constructor (datasets, tokenizer, prompts), never from notebook globals.

Values a callback computes at the end of an epoch go into the epoch `logs`, so `History`,
`keras.callbacks.TensorBoard` and `ModelCheckpoint(monitor=...)` see them, provided those
callbacks come later in the list (Keras calls callbacks in list order; `tlm.training.train`
orders them for you).
"""

import importlib.util
import math
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tlm import evaluation
from tlm.checks import check_positive_number
from tlm.generation import generate


def tensorboard_available():
    """True when the `tensorboard` package is installed (`tf.summary` needs it to write)."""
    return importlib.util.find_spec("tensorboard") is not None


def _global_step(model):
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations.numpy()) if optimizer is not None else 0


class ResetStatesAtEpochStart(keras.callbacks.Callback):
    """Zero a stateful model's carried state when an epoch starts at its first step.

    A stateful model (`LSTMLanguageModel(stateful=True)`) carries each batch's final state into
    the next; each epoch reads the contiguous rows from their beginning, so the state starts
    from zeros there. An epoch resumed in its middle (after a crash, from a backup that holds
    the carried state) keeps the state it was restored with, so the resumed run matches the
    uninterrupted one. `train` adds this callback for stateful models.

    Args:
        steps_per_epoch: int, optimizer steps in one epoch.
    """

    def __init__(self, steps_per_epoch):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if _global_step(self.model) % self.steps_per_epoch == 0:
            self.model.reset_states()


class PerplexityCallback(keras.callbacks.Callback):
    """Exact validation perplexity and bits per character, every epoch or every N steps.

    At the end of each epoch it scores `validation_data` with `tlm.evaluation.evaluate` and
    adds `val_loss` (nats/token), `val_perplexity`, `val_bits_per_token` and, when
    `characters_per_token` is given, `val_bits_per_character` to the epoch logs (so they reach
    `History`, TensorBoard and checkpoints monitoring `val_perplexity`). With `every_n_steps`,
    it also scores every N optimizer steps, keeps `(step, result)` pairs in `step_history`, and
    writes them as TensorBoard scalars under `log_dir` when given (and `tensorboard` is
    installed; without it, `log_dir` is ignored).

    Args:
        validation_data: dataset of `(x, y)` batches.
        characters_per_token: float or None (`LMData.characters_per_token["validation"]`).
        every_n_steps: int or None, also evaluate every this many training steps.
        mask_token_id: int or None, padding id to skip.
        prefix: name prefix of the logged values. Defaults to "val_".
        log_dir: str or None, TensorBoard folder for the every-N-steps scalars.
        verbose: 1 prints one line per evaluation.

    Example:

    >>> import keras, numpy as np, tensorflow as tf
    >>> model = keras.Sequential([keras.layers.Embedding(5, 8), keras.layers.Dense(5)])
    >>> model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> data = tf.data.Dataset.from_tensor_slices((np.ones((4, 3)), np.ones((4, 3)))).batch(2)
    >>> history = model.fit(data, epochs=1, verbose=0, callbacks=[PerplexityCallback(data)])
    >>> sorted(history.history)
    ['loss', 'val_bits_per_token', 'val_loss', 'val_perplexity']
    """

    def __init__(
        self,
        validation_data,
        characters_per_token=None,
        every_n_steps=None,
        mask_token_id=None,
        prefix="val_",
        log_dir=None,
        verbose=0,
    ):
        super().__init__()
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(
                f"`every_n_steps` must be >= 1 or None. Received: every_n_steps={every_n_steps}"
            )
        self.validation_data = validation_data
        self.characters_per_token = characters_per_token
        self.every_n_steps = every_n_steps
        self.mask_token_id = mask_token_id
        self.prefix = prefix
        self.log_dir = log_dir
        self.verbose = verbose
        self.step_history = []
        self._writer = None

    def score(self):
        """Evaluate now; return the result dict with prefixed keys."""
        result = evaluation.evaluate(
            self.model,
            self.validation_data,
            self.characters_per_token,
            mask_token_id=self.mask_token_id,
        )
        result.pop("tokens")
        return {self.prefix + name: value for name, value in result.items()}

    def on_train_begin(self, logs=None):
        self._last_step = _global_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        if not self.every_n_steps:
            return
        step = _global_step(self.model)
        # Crossing a multiple of N counts, so `steps_per_execution` > 1 works too.
        previous, self._last_step = self._last_step, step
        if step // self.every_n_steps <= previous // self.every_n_steps:
            return
        scores = self.score()
        self.step_history.append((step, scores))
        if self.log_dir and tensorboard_available():
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "steps"))
            with self._writer.as_default(step=step):
                for name, value in scores.items():
                    tf.summary.scalar(name, value)
            self._writer.flush()
        self._print(f"step {step}", scores)

    def on_epoch_end(self, epoch, logs=None):
        scores = self.score()
        if logs is not None:
            logs.update(scores)
        self._print(f"epoch {epoch + 1}", scores)

    def _print(self, where, scores):
        if self.verbose:
            text = " - ".join(f"{name}: {value:.4f}" for name, value in scores.items())
            print(f"{where}: {text}", flush=True)


class TextGenerationCallback(keras.callbacks.Callback):
    """Print and log sample continuations of fixed prompts as training goes on.

    Every `every_n_epochs` epochs, each prompt is continued with each decoding strategy through
    `tlm.generation.generate`. Samples are printed (when `verbose`), kept in `samples` as dicts
    (`epoch`, `strategy`, `prompt`, `text`) and, with `log_dir`, written as TensorBoard text.

    Args:
        tokenizer: the `Tokenizer` the model was trained with.
        prompts: a str or a list of str.
        strategies: decoding strategies from `tlm.generation.STRATEGIES`.
        max_new_tokens: int, tokens generated per sample.
        every_n_epochs: int, sample every this many epochs.
        top_k: int, `k` for the "top_k" strategy (capped at the vocabulary size).
        top_p: float, `p` for the "top_p" strategy.
        temperature: float, softmax temperature for the sampling strategies.
        seed: int, sampling seed, so samples of different epochs differ only by the model.
        log_dir: str or None, TensorBoard folder for the samples.
        verbose: 1 prints the samples.

    Example:

    >>> samples = TextGenerationCallback(tokenizer, ["ROMEO:"], max_new_tokens=50)  # doctest: +SKIP
    >>> model.fit(data.train, epochs=3, callbacks=[samples])  # doctest: +SKIP
    """

    # One argument per choice of what to sample and where to show it, as Keras callbacks take them.
    def __init__(  # noqa: PLR0913
        self,
        tokenizer,
        prompts,
        strategies=("greedy", "top_k"),
        max_new_tokens=100,
        every_n_epochs=1,
        top_k=10,
        top_p=0.9,
        temperature=1.0,
        seed=0,
        log_dir=None,
        verbose=1,
    ):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(
                f"`every_n_epochs` must be >= 1. Received: every_n_epochs={every_n_epochs}"
            )
        self.tokenizer = tokenizer
        self.prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        self.strategies = tuple(strategies)
        self.max_new_tokens = max_new_tokens
        self.every_n_epochs = every_n_epochs
        self.top_k = top_k
        self.top_p = top_p
        self.temperature = temperature
        self.seed = seed
        self.log_dir = log_dir
        self.verbose = verbose
        self.samples = []
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        lines = []
        vocabulary_size = self.tokenizer.vocabulary_size
        for strategy in self.strategies:
            texts = generate(
                self.model,
                self.tokenizer,
                self.prompts,
                max_new_tokens=self.max_new_tokens,
                strategy=strategy,
                top_k=min(self.top_k, vocabulary_size) if strategy == "top_k" else None,
                top_p=self.top_p if strategy == "top_p" else None,
                temperature=self.temperature,
                seed=self.seed,
            )
            for prompt, text in zip(self.prompts, texts, strict=True):
                self.samples.append(
                    {"epoch": epoch + 1, "strategy": strategy, "prompt": prompt, "text": text}
                )
                lines.append(f"[{strategy}] {prompt}{text}")
        if self.verbose:
            print(f"\nSamples after epoch {epoch + 1}:\n" + "\n".join(lines), flush=True)
        if self.log_dir and tensorboard_available():
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
            with self._writer.as_default(step=epoch + 1):
                tf.summary.text("samples", "\n\n".join(lines))
            self._writer.flush()


class ThroughputCallback(keras.callbacks.Callback):
    """Measure step time and tokens per second; add them to the epoch logs.

    Times each `train_function` call (one step, or `steps_per_execution` steps) from batch
    begin to batch end, so validation and other callbacks are not counted. The very first call
    of training includes tracing and compiling and is left out when there are others. Adds
    `step_time` (seconds per optimizer step) and `tokens_per_second` to the epoch logs.

    Args:
        tokens_per_step: int, tokens in one global batch (`batch_size * sequence_length`).

    Example:

    >>> callback = ThroughputCallback(tokens_per_step=12 * 64)
    >>> callback.tokens_per_step
    768
    """

    def __init__(self, tokens_per_step):
        super().__init__()
        self.tokens_per_step = int(tokens_per_step)
        self.total_time = 0.0
        self.total_steps = 0
        self._first_call = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = time.perf_counter()
        self._begin_batch = batch

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self._begin
        steps = max(batch - self._begin_batch + 1, 1)
        if self._first_call:
            self._first_call = False
            self._compile_call = (elapsed, steps)
            return
        self._epoch_times.append((elapsed, steps))
        self.total_time += elapsed
        self.total_steps += steps

    def on_epoch_end(self, epoch, logs=None):
        times = self._epoch_times or [getattr(self, "_compile_call", (0.0, 1))]
        seconds = sum(t for t, _ in times)
        steps = sum(s for _, s in times)
        if logs is not None and seconds > 0:
            logs["step_time"] = seconds / steps
            logs["tokens_per_second"] = self.tokens_per_step * steps / seconds

    @property
    def tokens_per_second(self):
        """Tokens per second over all timed steps so far (NaN before any)."""
        if not self.total_time:
            return math.nan
        return self.tokens_per_step * self.total_steps / self.total_time


class BudgetCallback(keras.callbacks.Callback):
    """A budget that ends training once it is spent; `train` shows one progress bar of it.

    A subclass sets `unit` and defines `spent()` (how much of `total` is used so far, from the
    callback's own state). After every step this base class stops training once `spent() >=
    total`, so Keras ends the epoch normally (validation, checkpoints, `History`); `stopped`
    tells whether it fired. `BudgetProgress` draws any budget.

    Args:
        total: float > 0, the budget in `unit`.
    """

    unit = ""

    def __init__(self, total):
        super().__init__()
        check_positive_number("total", total)
        self.total = float(total)
        self.stopped = False

    def spent(self):
        """How much of the budget is used so far (0 before training starts)."""
        raise NotImplementedError

    def on_train_batch_end(self, batch, logs=None):
        if self.spent() >= self.total:
            self.model.stop_training = True
            self.stopped = True


class TimeBudget(BudgetCallback):
    """Stop training cleanly once `seconds` of wall-clock time have passed.

    The clock starts at the first `on_train_begin` it sees. After each step it checks the time;
    past the budget it sets `model.stop_training`, so Keras finishes that epoch normally:
    validation, checkpoints and `History` all still run. `stopped` tells whether it fired.

    Args:
        seconds: float > 0, the budget.
        verbose: 1 prints a line when the budget stops training.

    Example:

    >>> budget = TimeBudget(seconds=180)
    >>> budget.stopped, budget.spent(), budget.unit
    (False, 0.0, 's')
    """

    unit = "s"

    def __init__(self, seconds, verbose=1):
        if not (isinstance(seconds, (int, float)) and seconds > 0):
            raise ValueError(f"`seconds` must be positive. Received: seconds={seconds}")
        super().__init__(seconds)
        self.seconds = seconds
        self.verbose = verbose
        self.start_time = None

    def spent(self):
        return 0.0 if self.start_time is None else time.monotonic() - self.start_time

    def on_train_begin(self, logs=None):
        if self.start_time is None:
            self.start_time = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        was_stopped = self.stopped
        super().on_train_batch_end(batch, logs)
        if self.stopped and not was_stopped and self.verbose:
            print(f"\nTime budget of {self.seconds:g} s reached; stopping.", flush=True)


class FlopsBudget(BudgetCallback):
    """Stop training once `flops` training FLOPs are spent (`flops_per_step` each step).

    The FLOPs of a step are known in advance (`tlm.models.flops_per_token` times the tokens of
    a batch), so the steps could be counted instead; this callback exists so that the budget,
    not a step count, is what the progress bar shows.

    Example:

    >>> budget = FlopsBudget(flops=1e12, flops_per_step=2e9)
    >>> budget.spent(), budget.unit
    (0.0, 'FLOPs')
    """

    unit = "FLOPs"

    def __init__(self, flops, flops_per_step):
        super().__init__(flops)
        check_positive_number("flops_per_step", flops_per_step)
        self.flops_per_step = float(flops_per_step)
        self.steps = 0

    def spent(self):
        return self.steps * self.flops_per_step

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        super().on_train_batch_end(batch, logs)


def _format_amount(value, unit):
    if unit == "s":
        return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"
    return f"{value:.3g}"


def _format_eta(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class BudgetProgress(keras.callbacks.Callback):
    """One progress bar of a budget spent, in place of Keras' per-epoch bars.

    A run under a time or FLOPs budget stops when the budget is spent, not after its planned
    epochs, so "Epoch 13/48" says nothing useful. This shows instead, on one line::

        budget 43/210 s ━━━━━━━━──────────────  20% · step 1,234 · loss 1.8120 ·
        perplexity 6.12 · val perplexity 6.40 · ETA 2:47

    redrawn in place on a terminal or in a notebook (every `interval` seconds), and as a new line
    at every tenth of the budget otherwise (a log file, CI). The training loss is Keras' running
    mean over the epoch; perplexity is its exponential; the validation perplexity is the last
    one the `PerplexityCallback` added to the logs (place this callback after it). The ETA
    extrapolates the rate at which the budget has been spent since the first step.

    Args:
        budget: the `BudgetCallback` to show (`TimeBudget`, `FlopsBudget`, ...).
        verbose: 1 redraws one line on a terminal; 2 prints a line per tenth of the budget.
        interval: least seconds between two redraws.
        stream: where to write (default `sys.stdout`, looked up when writing).

    Example:

    >>> progress = BudgetProgress(TimeBudget(seconds=60))
    >>> progress.describe(spent=15, step=120, loss=1.5, elapsed=20.0)
    'budget 15/60 s ━━━━━───────────────  25% · step 120 · loss 1.5000 · perplexity 4.48 · ETA 0:45'
    """

    WIDTH = 20

    def __init__(self, budget, verbose=1, interval=0.5, stream=None):
        super().__init__()
        if not isinstance(budget, BudgetCallback):
            raise ValueError(
                "`budget` must be a tlm.training.BudgetCallback (TimeBudget, FlopsBudget). "
                f"Received: budget={budget!r}"
            )
        self.budget = budget
        self.verbose = verbose
        self.interval = interval
        self.stream = stream
        self._dynamic = None
        self._start = None  # (wall time, spent) at the first step's end
        self._last_draw = -math.inf
        self._last_tenth = 0
        self._step = 0
        self._loss = None
        self._val_perplexity = None
        self._width = 0

    def describe(self, spent, step, loss=None, val_perplexity=None, elapsed=None):
        """The progress line for these values (no terminal codes)."""
        total, unit = self.budget.total, self.budget.unit
        fraction = min(max(spent / total, 0.0), 1.0)
        filled = int(self.WIDTH * fraction)
        parts = [
            f"budget {_format_amount(spent, unit)}/{_format_amount(total, unit)} {unit} "
            f"{'━' * filled}{'─' * (self.WIDTH - filled)} {fraction:4.0%}",
            f"step {step:,}",
        ]
        if loss is not None and math.isfinite(loss):
            parts.append(f"loss {loss:.4f}")
            parts.append(f"perplexity {math.exp(min(loss, 50.0)):.2f}")
        if val_perplexity is not None:
            parts.append(f"val perplexity {val_perplexity:.2f}")
        if elapsed is not None and 0 < spent < total:
            if unit == "s":
                eta = total - spent
            else:
                eta = (total - spent) * elapsed / spent
            parts.append(f"ETA {_format_eta(eta)}")
        return " · ".join(parts)

    def _write(self, text, final=False):
        stream = self.stream or sys.stdout
        if self._dynamic:
            pad = " " * max(0, self._width - len(text))
            stream.write("\r" + text + pad + ("\n" if final else ""))
            self._width = len(text)
        else:
            stream.write(text + "\n")
        stream.flush()

    def _draw(self, final=False):
        now = time.monotonic()
        spent = self.budget.spent()
        elapsed = None
        if self._start is not None:
            start_time, start_spent = self._start
            elapsed = now - start_time
            if self.budget.unit != "s" and spent > start_spent:
                elapsed = elapsed * spent / (spent - start_spent)  # the first step's share too
        self._write(
            self.describe(spent, self._step, self._loss, self._val_perplexity, elapsed), final
        )
        self._last_draw = now

    def on_train_begin(self, logs=None):
        stream = self.stream or sys.stdout
        isatty = getattr(stream, "isatty", lambda: False)()
        self._dynamic = self.verbose == 1 and (isatty or "ipykernel" in sys.modules)

    def on_train_batch_end(self, batch, logs=None):
        if not self.verbose:
            return
        self._step = _global_step(self.model) or self._step + 1
        if logs and "loss" in logs:
            self._loss = float(logs["loss"])
        if self._start is None:
            self._start = (time.monotonic(), self.budget.spent())
        tenth = int(10 * self.budget.spent() / self.budget.total)
        if self._dynamic:
            if time.monotonic() - self._last_draw >= self.interval:
                self._draw()
        elif tenth > self._last_tenth and tenth < 10:
            self._last_tenth = tenth
            self._draw()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_perplexity")
        if value is not None:
            self._val_perplexity = float(value)
        if self.verbose and self._dynamic:
            self._draw()

    def on_train_end(self, logs=None):
        if self.verbose:
            self._draw(final=True)


class TerminateOnNaN(keras.callbacks.Callback):
    """Stop training as soon as the training loss stops being finite.

    Keras' own `TerminateOnNaN` stops on a NaN loss, but the epoch still ends normally
    afterwards, and a checkpoint or backup written then would store the broken weights. tlm's
    checkpoint callbacks (`tlm.training.runs`) refuse to save non-finite weights; this callback
    makes the stop itself and records `terminated` and the `step` it happened at.

    Example:

    >>> TerminateOnNaN().terminated
    False
    """

    def __init__(self):
        super().__init__()
        self.terminated = False
        self.step = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.model.stop_training = True
            if not self.terminated:
                self.step = _global_step(self.model)
                print(f"\nNon-finite loss at step {self.step}; stopping.", flush=True)
            self.terminated = True


def weights_are_finite(model):
    """True when every weight of `model` is finite (no NaN or infinity)."""
    return all(np.isfinite(np.asarray(w)).all() for w in model.get_weights())
