"""The training budget both models share: equal steps, equal wall-clock time or equal FLOPs.

A budget of steps gives both models the same number of optimizer steps (and so the same tokens).
A budget of time gives both the same seconds of training: the faster model sees more text.
A budget of FLOPs gives both the same training compute: each model gets
`floor(flops / (training FLOPs per token * tokens per step))` steps, with training FLOPs per
token from `tlm.models.flops_per_token` (forward plus backward, about 3x the forward pass).
The lesson is notebooks/06_lstm_vs_transformer.ipynb.
"""

import math
from dataclasses import dataclass

from tlm.checks import check_choice, check_positive_number

BUDGET_KINDS = ("steps", "time", "flops")


@dataclass(frozen=True)
class Budget:
    """A training budget: `kind` is one of `BUDGET_KINDS`, `value` steps, seconds or FLOPs.

    Args:
        kind: `"steps"`, `"time"` (seconds of training per model) or `"flops"` (training FLOPs
            per model).
        value: the amount, a number greater than 0.

    Example:

    >>> Budget("flops", 6e12).steps_for(flops_per_token=3e6, tokens_per_step=1000)
    2000
    >>> Budget("steps", 0)
    Traceback (most recent call last):
    ...
    ValueError: `budget_value` must be a finite number greater than 0. Received: budget_value=0
    """

    kind: str
    value: float

    def __post_init__(self):
        check_choice("budget", self.kind, BUDGET_KINDS)
        check_positive_number("budget_value", self.value)
        value = self.value
        if self.kind == "steps" and int(value) != value:
            raise ValueError(
                "`budget_value` must be a whole number of steps for budget='steps'. "
                f"Received: budget_value={value!r}"
            )

    @property
    def seconds(self):
        """The time limit in seconds, or None when the budget is not time."""
        return float(self.value) if self.kind == "time" else None

    def steps_for(self, flops_per_token=None, tokens_per_step=None):
        """Training steps for one model, or None for a time budget (train until time is up).

        Args:
            flops_per_token: the model's training FLOPs per token, forward and backward
                (`tlm.models.flops_per_token(model)`); used by a flops budget.
            tokens_per_step: `batch_size * sequence_length`; used by a flops budget.
        """
        if self.kind == "steps":
            return int(self.value)
        if self.kind == "time":
            return None
        per_step = flops_per_token * tokens_per_step
        steps = math.floor(self.value / per_step)
        if steps < 1:
            raise ValueError(
                "`budget_value` is too small for one training step: one step costs "
                f"{per_step:.3g} FLOPs. Received: budget_value={self.value!r}"
            )
        return steps

    def describe(self):
        if self.kind == "steps":
            return f"{int(self.value):,} training steps per model"
        if self.kind == "time":
            return f"{self.value:g} s of training per model, after compiling"
        return f"{self.value:.3g} training FLOPs per model"

    def to_dict(self):
        return {"kind": self.kind, "value": self.value}
