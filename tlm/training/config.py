"""`TrainConfig`: every choice of a training run, in one frozen dataclass.

`tlm.training.train(model, data, config, **overrides)` reads it, the run directory records it
(config.json's "training" is `config.record()`), a resumed run is checked against it, and
`tlm train`'s options and the defaults its `--help` states are generated from its fields. Each
field's `help` (in its metadata) is the one description of the setting, shown by `--help`.

The values are checked when the config is made, so a bad setting fails before any data or
model work. A setting that may be "not given" defaults to `None` (documented per field); an
explicit 0 is never read as "not given".
"""

import dataclasses

import keras
import tensorflow as tf

from tlm.checks import (
    check_choice,
    check_known_names,
    check_non_negative_int,
    check_non_negative_number,
    check_optional_positive_int,
    check_positive_int,
    check_positive_number,
    check_rate,
    check_unicode_text,
)
from tlm.training.optimizers import OPTIMIZERS
from tlm.training.placement import MIXED_PRECISION_POLICIES, STRATEGIES

JIT_COMPILE_CHOICES = ("auto", True, False)
SCHEDULES = ("cosine", "epoch_decay")
VERBOSITIES = ("auto", 0, 1, 2)


def setting(  # noqa: PLR0913  (each keyword is one fact about the field)
    default,
    help,
    *,
    choices=None,
    item_type=str,
    metavar=None,
    record=True,
    cli=True,  # noqa: A002
):
    """A dataclass field with its help text and CLI facts in `metadata`.

    Args:
        default: the default value (immutable).
        help: one sentence for the docs and for `--help`; the default is appended there.
        choices: the allowed values, checked and offered as the option's choices.
        item_type: the type of each item of a tuple setting, for the command line.
        metavar: how `--help` names the option's value, when the field name does not say it.
        record: whether config.json records it and a resume compares it (False for settings
            that do not change what is trained, such as verbosity).
        cli: whether `tlm train` offers it as an option (False for Python objects).
    """
    metadata = {
        "help": help,
        "choices": choices,
        "item_type": item_type,
        "metavar": metavar,
        "record": record,
        "cli": cli,
    }
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every choice of a training run (see each field's comment; `--help` shows the same text).

    Example:

    >>> config = TrainConfig(epochs=3, learning_rate=3e-3)
    >>> config.epochs, config.optimizer, config.warmup_steps
    (3, 'adamw', 0)
    >>> TrainConfig(steps_per_epoch=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `steps_per_epoch` must be None or an integer of at least 1. Received: ...=0
    >>> config.differences(TrainConfig(epochs=4, learning_rate=3e-3))
    ['epochs']
    """

    # How long.
    epochs: int = setting(1, "epochs to train, >= 1")
    steps_per_epoch: int | None = setting(
        None, "optimizer steps per epoch; None: one pass over the training windows"
    )
    time_budget: float | None = setting(
        None, "stop cleanly after this many seconds of training; None: no time limit"
    )
    # The optimizer and its schedule (nanoGPT's defaults for small character models).
    optimizer: object = setting(
        "adamw",
        "adamw (decoupled weight decay on matrices only, as nanoGPT), adam or sgd; the API also "
        "takes a keras.optimizers.Optimizer",
        choices=OPTIMIZERS,
    )
    learning_rate: float = setting(1e-3, "peak learning rate, > 0, reached after the warm-up")
    min_learning_rate: float | None = setting(
        None, "floor of the cosine decay, reached at the last step; None: learning_rate / 10"
    )
    warmup_steps: int = setting(0, "steps of linear warm-up before the cosine decay")
    schedule: str = setting(
        "cosine",
        "learning-rate schedule: cosine (warm-up, then cosine decay to min_learning_rate) or "
        "epoch_decay (constant for constant_epochs epochs, then times decay_rate each epoch, "
        "as Zaremba et al. 2014)",
        choices=SCHEDULES,
    )
    decay_rate: float = setting(0.5, "epoch_decay: the factor applied at each later epoch")
    constant_epochs: int = setting(4, "epoch_decay: epochs at the full learning rate")
    weight_decay: float = setting(0.1, "AdamW's decoupled weight decay on weight matrices")
    beta_1: float = setting(0.9, "Adam/AdamW first-moment decay")
    beta_2: float = setting(0.99, "Adam/AdamW second-moment decay (0.99 as nanoGPT)")
    momentum: float = setting(0.9, "SGD momentum")
    clipnorm: float | None = setting(None, "clip each gradient to this norm; None: no clipping")
    global_clipnorm: float | None = setting(
        None, "clip all gradients together to this norm (nanoGPT's grad_clip); None: no clipping"
    )
    # The batches.
    stride: int | None = setting(
        None,
        "tokens between training windows; 1 samples every offset as nanoGPT does; None: "
        "the sequence length (no overlap)",
    )
    seed: int | None = setting(
        0, "seeds Keras (dropout, sampling) and the batch order; None: a random batch order"
    )
    deterministic: bool = setting(
        False, "enable TensorFlow op determinism (bit-exact reruns, slower; process-wide)"
    )
    # Evaluation, samples and backups.
    evaluate_every_steps: int | None = setting(
        None, "also evaluate on the validation split every this many steps; None: epoch ends"
    )
    backup_every_steps: int | None = setting(
        None,
        "back up the training state every this many steps as well as at each epoch end; "
        "None: epoch ends only",
    )
    sample_prompts: tuple | None = setting(
        None, "print greedy and top-k continuations of these prompts after epochs"
    )
    sample_every_n_epochs: int = setting(1, "sample text every this many epochs")
    sample_max_new_tokens: int = setting(100, "tokens per sample")
    # Where and how it computes.
    mixed_precision: str | None = setting(
        None, "mixed-precision policy; None: float32", choices=(None, *MIXED_PRECISION_POLICIES)
    )
    strategy: object = setting(
        None,
        "tf.distribute strategy: mirrored uses every local GPU; None: one device; the API also "
        "takes a tf.distribute.Strategy",
        choices=(None, *STRATEGIES),
    )
    jit_compile: object = setting(
        "auto",
        "XLA for the train step: auto asks the model (XLA for the Transformer, Keras's choice "
        "otherwise), true or false",
        choices=JIT_COMPILE_CHOICES,
    )
    steps_per_execution: int = setting(1, "optimizer steps per compiled call")
    # How it reports (not recorded: they do not change what is trained).
    verbose: object = setting(
        "auto",
        "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch",
        choices=VERBOSITIES,
        record=False,
    )
    callbacks: tuple = setting(
        (),
        "extra Keras callbacks, called after the validation callback",
        record=False,
        cli=False,
    )

    def __post_init__(self):
        if isinstance(self.sample_prompts, str):
            object.__setattr__(self, "sample_prompts", (self.sample_prompts,))
        elif self.sample_prompts is not None:
            object.__setattr__(self, "sample_prompts", tuple(self.sample_prompts))
        object.__setattr__(self, "callbacks", tuple(self.callbacks or ()))
        self._check()

    def _check(self):
        check_positive_int("epochs", self.epochs)
        for name in ("steps_per_epoch", "stride", "evaluate_every_steps", "backup_every_steps"):
            check_optional_positive_int(name, getattr(self, name))
        for name in ("sample_every_n_epochs", "sample_max_new_tokens", "steps_per_execution"):
            check_positive_int(name, getattr(self, name))
        check_non_negative_int("warmup_steps", self.warmup_steps)
        self._check_schedule()
        if self.seed is not None:
            check_non_negative_int("seed", self.seed)
        check_positive_number("learning_rate", self.learning_rate)
        check_positive_number("time_budget", self.time_budget, optional=True)
        check_positive_number("clipnorm", self.clipnorm, optional=True)
        check_positive_number("global_clipnorm", self.global_clipnorm, optional=True)
        if self.min_learning_rate is not None:
            check_non_negative_number("min_learning_rate", self.min_learning_rate)
            if self.min_learning_rate > self.learning_rate:
                raise ValueError(
                    "`min_learning_rate` must be at most `learning_rate`. Received: "
                    f"min_learning_rate={self.min_learning_rate}, "
                    f"learning_rate={self.learning_rate}"
                )
        check_non_negative_number("weight_decay", self.weight_decay)
        for name in ("beta_1", "beta_2", "momentum"):
            check_rate(name, getattr(self, name))
        if self.clipnorm and self.global_clipnorm:
            raise ValueError(
                "Set only one of `clipnorm` and `global_clipnorm`. Received: "
                f"clipnorm={self.clipnorm}, global_clipnorm={self.global_clipnorm}"
            )
        if not isinstance(self.optimizer, keras.optimizers.Optimizer):
            check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not isinstance(self.strategy, tf.distribute.Strategy):
            check_choice("strategy", self.strategy, (None, *STRATEGIES))
        check_choice("mixed_precision", self.mixed_precision, (None, *MIXED_PRECISION_POLICIES))
        check_choice("jit_compile", self.jit_compile, JIT_COMPILE_CHOICES)
        check_choice("verbose", self.verbose, VERBOSITIES)
        if self.sample_prompts is not None and not (
            self.sample_prompts and all(isinstance(p, str) and p for p in self.sample_prompts)
        ):
            raise ValueError(
                "`sample_prompts` must be None or non-empty strings. Received: "
                f"sample_prompts={self.sample_prompts!r}"
            )
        for prompt in self.sample_prompts or ():
            check_unicode_text("sample_prompts", prompt)

    def _check_schedule(self):
        check_choice("schedule", self.schedule, SCHEDULES)
        check_positive_int("constant_epochs", self.constant_epochs)
        if not (isinstance(self.decay_rate, int | float) and 0 < self.decay_rate <= 1):
            raise ValueError(
                f"`decay_rate` must be in (0, 1]. Received: decay_rate={self.decay_rate!r}"
            )
        if self.schedule == "epoch_decay" and self.warmup_steps:
            raise ValueError(
                "`warmup_steps` applies to the cosine schedule only; set it to 0 with "
                f"schedule='epoch_decay'. Received: warmup_steps={self.warmup_steps}"
            )

    @classmethod
    def from_overrides(cls, config=None, **overrides):
        """`config` (default `TrainConfig()`) with `overrides` replacing some fields.

        An unknown name is an error that lists the valid ones.
        """
        if config is not None and not isinstance(config, cls):
            raise ValueError(f"`config` must be a TrainConfig or None. Received: config={config!r}")
        check_known_names(
            "training setting(s)", overrides, [field.name for field in dataclasses.fields(cls)]
        )
        return dataclasses.replace(config or cls(), **overrides)

    def record(self):
        """The recorded fields as JSON-ready data (config.json's "training").

        Python objects are recorded by class name: an optimizer or a strategy instance.
        """
        record = {}
        for field in dataclasses.fields(self):
            if not field.metadata["record"]:
                continue
            value = getattr(self, field.name)
            if isinstance(value, keras.optimizers.Optimizer | tf.distribute.Strategy):
                value = type(value).__name__
            record[field.name] = list(value) if isinstance(value, tuple) else value
        return record

    def differences(self, other):
        """Names of the recorded fields whose values differ from `other` (a config or record)."""
        mine = self.record()
        theirs = other.record() if isinstance(other, TrainConfig) else dict(other)
        return [name for name in mine if mine[name] != theirs.get(name, _MISSING)]


_MISSING = object()
