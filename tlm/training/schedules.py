"""Learning-rate schedules: linear warm-up then cosine decay to a floor; or decay by epoch.

Taught in notebooks/04_transformer_language_model.ipynb. This is nanoGPT's `get_lr`: the
rate climbs linearly for `warmup_steps` (Adam's second-moment estimates are poor for the first
few hundred steps, so large early updates would be noise), then follows half a cosine from
`learning_rate` down to `min_learning_rate` over `decay_steps`, and stays there.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tlm")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `learning_rate`, then cosine decay to `min_learning_rate`.

    At optimizer step `s` (0-based, `optimizer.iterations`):

    - `s < warmup_steps`: `learning_rate * (s + 1) / (warmup_steps + 1)`;
    - then `min_lr + 0.5 * (1 + cos(pi * r)) * (learning_rate - min_lr)` with
      `r = min((s - warmup_steps) / decay_steps, 1)`, so the floor is reached at step
      `warmup_steps + decay_steps` (nanoGPT's `lr_decay_iters`) and kept afterwards.

    `decay_steps=0` keeps the rate constant after the warm-up.

    Args:
        learning_rate: float > 0, the peak rate reached at the end of the warm-up.
        warmup_steps: int >= 0, steps of linear warm-up.
        decay_steps: int >= 0, steps of cosine decay after the warm-up.
        min_learning_rate: float in [0, learning_rate], the floor. Defaults to 0.

    Example:

    >>> schedule = WarmupCosineDecay(1e-3, warmup_steps=100, decay_steps=1900,
    ...                              min_learning_rate=1e-4)
    >>> [round(float(schedule(s)), 6) for s in (0, 100, 1050, 2000, 5000)]
    [1e-05, 0.001, 0.00055, 0.0001, 0.0001]
    """

    def __init__(self, learning_rate, warmup_steps, decay_steps, min_learning_rate=0.0):
        if not learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be positive. Received: learning_rate={learning_rate}"
            )
        if not 0 <= min_learning_rate <= learning_rate:
            raise ValueError(
                "`min_learning_rate` must be between 0 and `learning_rate`. Received: "
                f"min_learning_rate={min_learning_rate}, learning_rate={learning_rate}"
            )
        if warmup_steps < 0 or decay_steps < 0:
            raise ValueError(
                "`warmup_steps` and `decay_steps` must be >= 0. Received: "
                f"warmup_steps={warmup_steps}, decay_steps={decay_steps}"
            )
        self.learning_rate = float(learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = int(decay_steps)
        self.min_learning_rate = float(min_learning_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = self.learning_rate * (step + 1.0) / (self.warmup_steps + 1.0)
        progress = (step - self.warmup_steps) / max(self.decay_steps, 1)
        progress = ops.clip(progress, 0.0, 1.0) if self.decay_steps else progress * 0.0
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        decayed = self.min_learning_rate + cosine * (self.learning_rate - self.min_learning_rate)
        return ops.where(step < self.warmup_steps, warmup, decayed)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
            "min_learning_rate": self.min_learning_rate,
        }


@keras.saving.register_keras_serializable(package="tlm")
class EpochDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A constant rate for `constant_epochs` epochs, then multiplied by `decay_rate` each epoch.

    The schedule of Zaremba et al. (2014) and TensorFlow's old `ptb_word_lm` tutorial: at
    optimizer step `s`, in epoch `e = s // steps_per_epoch` (0-based), the rate is

        learning_rate * decay_rate ** max(e + 1 - constant_epochs, 0)

    so epochs `0 .. constant_epochs - 1` run at `learning_rate`, and every later epoch at
    `decay_rate` times the one before. It works for any data: only `steps_per_epoch` ties it
    to the batches.

    Args:
        learning_rate: float > 0, the rate of the first `constant_epochs` epochs.
        steps_per_epoch: int >= 1, optimizer steps in one epoch.
        decay_rate: float in (0, 1], the factor applied at each later epoch.
        constant_epochs: int >= 1, epochs at the full rate.

    Example:

    >>> schedule = EpochDecay(1.0, steps_per_epoch=10, decay_rate=0.5, constant_epochs=4)
    >>> [float(schedule(s)) for s in (0, 39, 40, 50, 129)]
    [1.0, 1.0, 0.5, 0.25, 0.001953125]
    """

    def __init__(self, learning_rate, steps_per_epoch, decay_rate, constant_epochs):
        if not learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be positive. Received: learning_rate={learning_rate}"
            )
        if not (isinstance(steps_per_epoch, int) and steps_per_epoch >= 1):
            raise ValueError(
                "`steps_per_epoch` must be an integer of at least 1. "
                f"Received: steps_per_epoch={steps_per_epoch!r}"
            )
        if not 0 < decay_rate <= 1:
            raise ValueError(f"`decay_rate` must be in (0, 1]. Received: decay_rate={decay_rate!r}")
        if not (isinstance(constant_epochs, int) and constant_epochs >= 1):
            raise ValueError(
                "`constant_epochs` must be an integer of at least 1. "
                f"Received: constant_epochs={constant_epochs!r}"
            )
        self.learning_rate = float(learning_rate)
        self.steps_per_epoch = steps_per_epoch
        self.decay_rate = float(decay_rate)
        self.constant_epochs = constant_epochs

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / self.steps_per_epoch)
        decays = ops.maximum(epoch + 1.0 - self.constant_epochs, 0.0)
        return self.learning_rate * ops.power(self.decay_rate, decays)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "decay_rate": self.decay_rate,
            "constant_epochs": self.constant_epochs,
        }
