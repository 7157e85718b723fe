"""Training one model under the shared budget: the step plan, the time-budget schedule, curves.

`tlm.training.train` does the training; this module decides how many epochs of how many steps,
records the validation curve against wall time, and, for a time budget, decays the learning rate
over the *time* used rather than over a step count nobody knows in advance (the fast model and
the slow one both end their budget at the floor of the cosine).
The lesson is notebooks/06_lstm_vs_transformer.ipynb.
"""

import math
import time

import keras
from keras import ops

from tlm.training.batches import lm_batches
from tlm.training.callbacks import BudgetCallback
from tlm.training.placement import resolve_jit_compile
from tlm.training.schedules import WarmupCosineDecay

# Validation points on each curve, about.
CURVE_POINTS = 12
# For a time budget, epochs are sized from a step-time estimate; this many spare epochs make sure
# the clock, not the epoch count, ends training.
SPARE_FACTOR = 4


@keras.saving.register_keras_serializable(package="tlm")
class BudgetFractionDecay(WarmupCosineDecay):
    """`WarmupCosineDecay` whose cosine follows the fraction of a time budget already used.

    Linear warm-up over `warmup_steps` optimizer steps, then half a cosine from `learning_rate`
    to `min_learning_rate` as `fraction` goes from 0 to 1. `fraction` is a variable that a
    `BudgetClock` callback sets from the wall clock after every step, so under a time budget each
    model decays over exactly the time it has, whatever its speed.

    Args:
        learning_rate: the peak rate.
        warmup_steps: steps of linear warm-up.
        decay_steps: unused (kept for the parent's config); the decay follows `fraction`.
        min_learning_rate: the floor, reached when the budget is used up.

    Example:

    >>> schedule = BudgetFractionDecay(1e-3, warmup_steps=0, decay_steps=0,
    ...                                min_learning_rate=1e-4)
    >>> _ = schedule.fraction.assign(0.5)
    >>> round(float(schedule(10)), 6)
    0.00055
    """

    def __init__(self, learning_rate, warmup_steps, decay_steps=0, min_learning_rate=0.0):
        super().__init__(learning_rate, warmup_steps, decay_steps, min_learning_rate)
        self.fraction = keras.Variable(0.0, dtype="float32", trainable=False, name="fraction")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = self.learning_rate * (step + 1.0) / (self.warmup_steps + 1.0)
        progress = ops.clip(ops.convert_to_tensor(self.fraction), 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        decayed = self.min_learning_rate + cosine * (self.learning_rate - self.min_learning_rate)
        return ops.where(step < self.warmup_steps, warmup, decayed)


class BudgetClock(BudgetCallback):
    """A time budget that starts after the first (compiling) step, and drives the decay.

    Tracing and XLA compilation take seconds and differ between models; counting them would
    take training time away from the model that compiles slower. So the clock starts when the
    first step ends. After every step it sets `schedule.fraction` (when given) to the share of
    the budget used and, once it is used up, stops training cleanly: Keras ends the epoch
    normally (validation, checkpoint, history). `train` shows its progress (`BudgetProgress`).

    Args:
        seconds: the budget in seconds of training.
        schedule: a `BudgetFractionDecay` to drive, or None.
    """

    unit = "s"

    def __init__(self, seconds, schedule=None):
        super().__init__(seconds)
        self.seconds = float(seconds)
        self.schedule = schedule
        self.start_time = None

    def spent(self):
        return 0.0 if self.start_time is None else time.monotonic() - self.start_time

    def on_train_batch_end(self, batch, logs=None):
        if self.start_time is None:
            self.start_time = time.monotonic()
            return
        if self.schedule is not None:
            self.schedule.fraction.assign(min(self.spent() / self.seconds, 1.0))
        super().on_train_batch_end(batch, logs)


class CurveRecorder(keras.callbacks.Callback):
    """Record `(step, wall time, validation perplexity)` at the end of each epoch.

    Place it after the callback that adds `val_perplexity` to the logs (`train` does so for its
    extra callbacks). Like `BudgetClock`, wall time counts from the end of the first (compiling)
    step, and includes the evaluations.
    """

    def __init__(self):
        super().__init__()
        self.start_time = None
        self.curve = {"step": [], "wall_time": [], "validation_perplexity": []}

    def on_train_batch_end(self, batch, logs=None):
        if self.start_time is None:
            self.start_time = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_perplexity")
        if value is None:
            return
        self.curve["step"].append(int(self.model.optimizer.iterations.numpy()))
        self.curve["wall_time"].append(round(time.monotonic() - self.start_time, 3))
        self.curve["validation_perplexity"].append(float(value))


def plan_steps(total_steps, points=CURVE_POINTS):
    """`(epochs, steps_per_epoch)` for a known step count, with about `points` evaluations.

    Prefers a number of epochs that divides `total_steps` (so exactly `total_steps` are trained)
    between `points / 2` and `2 * points`; otherwise `points` epochs, dropping fewer than
    `points` steps at the end.

    Example:

    >>> plan_steps(1000), plan_steps(30), plan_steps(997), plan_steps(5)
    ((10, 100), (10, 3), (12, 83), (5, 1))
    """
    if total_steps <= points:
        return max(1, total_steps), 1
    divisors = [e for e in range(max(1, points // 2), 2 * points + 1) if total_steps % e == 0]
    if divisors:
        epochs = min(divisors, key=lambda e: (abs(e - points), e))
        return epochs, total_steps // epochs
    return points, total_steps // points


def plan_time(seconds, step_time, points=CURVE_POINTS):
    """`(epochs, steps_per_epoch)` for a time budget, from an estimated seconds per step.

    The epochs are sized for about `points` evaluations, with `SPARE_FACTOR` times as many
    epochs as needed so that the clock ends training even when the estimate is off.

    Example:

    >>> plan_time(120, 0.05)
    (48, 200)
    """
    expected_steps = max(1, int(seconds / max(step_time, 1e-6)))
    steps_per_epoch = max(1, expected_steps // points)
    return points * SPARE_FACTOR, steps_per_epoch


def estimate_step_time(model, data, learning_rate, steps=6):
    """Seconds per training step of `model` on `data`, measured on a throwaway copy.

    A copy is built from the model's config, compiled like `train` compiles, and trained for
    `steps + 1` batches; the first (tracing and compiling) is left out. The model itself is not
    touched, so its training starts from the same weights and seed.
    """
    copy = type(model).from_config(model.get_config())
    copy.compile(
        optimizer=keras.optimizers.AdamW(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=resolve_jit_compile(copy),
    )
    stream = lm_batches(
        data.train_ids, int(data.sequence_length), int(data.batch_size), seed=0, start_step=0
    )
    timer = _StepTimer()
    copy.fit(
        stream,
        epochs=1,
        steps_per_epoch=steps + 1,
        verbose=0,
        callbacks=[timer],
        shuffle=False,  # the stream is shuffled already
    )
    times = timer.times[1:] or timer.times
    return sum(times) / len(times)


class _StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._begin)
