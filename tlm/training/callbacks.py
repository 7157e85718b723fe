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
import time

import keras
import numpy as np
import tensorflow as tf

from tlm import evaluation
from tlm.generation import generate


def tensorboard_available():
    """True when the `tensorboard` package is installed (`tf.summary` needs it to write)."""
    return importlib.util.find_spec("tensorboard") is not None


def _global_step(model):
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations.numpy()) if optimizer is not None else 0


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


class TimeBudget(keras.callbacks.Callback):
    """Stop training cleanly once `seconds` of wall-clock time have passed.

    The clock starts at the first `on_train_begin` it sees. After each step it checks the time;
    past the budget it sets `model.stop_training`, so Keras finishes that epoch normally:
    validation, checkpoints and `History` all still run. `stopped` tells whether it fired.

    Args:
        seconds: float > 0, the budget.
        verbose: 1 prints a line when the budget stops training.

    Example:

    >>> budget = TimeBudget(seconds=180)
    >>> budget.stopped
    False
    """

    def __init__(self, seconds, verbose=1):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"`seconds` must be positive. Received: seconds={seconds}")
        self.seconds = seconds
        self.verbose = verbose
        self.stopped = False
        self.start_time = None

    def on_train_begin(self, logs=None):
        if self.start_time is None:
            self.start_time = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start_time >= self.seconds:
            self.model.stop_training = True
            if not self.stopped and self.verbose:
                print(f"\nTime budget of {self.seconds:g} s reached; stopping.", flush=True)
            self.stopped = True


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
