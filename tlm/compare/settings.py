"""`CompareConfig`: every choice of a comparison, in one frozen dataclass, checked when made.

`compare_baselines(config, **overrides)` reads it, results.json records it, and `tlm compare`'s
options, their help and the defaults `--help` states are generated from its fields. `--quick`
(`CompareConfig.create(quick=True)`) is a smoke test: the fields of `QUICK` take smaller
defaults, and anything given explicitly still wins.

A bad value raises a `ValueError` naming the argument, the rule and the value received, so a bad
command fails at once and writes nothing.
"""

import dataclasses
import os
import time
from pathlib import Path

from tlm.checks import (
    check_choice,
    check_known_names,
    check_optional_positive_int,
    check_positive_int,
    check_positive_number,
    check_unicode_text,
)
from tlm.compare.budget import BUDGET_KINDS, Budget
from tlm.data.tokenizers import TOKENIZER_KINDS
from tlm.models import MODEL_KINDS, model_class
from tlm.training.config import setting

# The budget per model when `budget_value` is None, by budget kind (normal and quick).
BUDGET_VALUES = {"steps": 2000, "time": 140.0, "flops": 3e12}
QUICK_BUDGET_VALUES = {"steps": 30, "time": 20.0, "flops": 3e10}
# `quick`: a smoke test in well under 2 minutes (the figures mean little).
QUICK = {
    "budget": "steps",
    "sequence_length": 32,
    "batch_size": 16,
    "max_eval_batches": 8,
    "curve_batches": 4,
    "max_new_tokens": 40,
}
DEFAULT_PROMPTS = ("ROMEO:\n", "HAMLET:\nTo be, or not to be")
# The default prompts of a corpus whose text is not a play: a title and an author, as each poem
# of the Tang poems begins, so the models write the poem.
CORPUS_PROMPTS = {"tang_poems": ("春曉\n孟浩然\n", "靜夜思\n李白\n")}

SIZING = (
    "The presets of the same name are matched by design: the LSTM has two layers, an embedding "
    "as wide as the Transformer's hidden size, and the LSTM width whose total parameter count "
    "comes closest to the Transformer's (see `tlm.models.config`)."
)


def _budget_values_text(values):
    return ", ".join(f"{kind}: {value:g}" for kind, value in values.items())


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Every choice of a comparison (see each field; `tlm compare --help` shows the same text).

    The default comparison takes about 10 minutes on a 2-core CPU, both models included.

    Example:

    >>> config = CompareConfig.create(quick=True, sequence_length=48)
    >>> config.budget, config.sequence_length, config.batch_size, config.budget_amount
    ('steps', 48, 16, 30)
    >>> CompareConfig(batch_size=0)
    Traceback (most recent call last):
    ...
    ValueError: `batch_size` must be an integer of at least 1. Received: batch_size=0
    """

    # The data both models share.
    corpus: str = setting(
        "shakespeare",
        "a corpus name (shakespeare, tiny_shakespeare, ptb, tang_poems) or a path to a .txt file "
        "or a folder of .txt files; shakespeare is bundled and offline",
    )
    tokenizer: str = setting("char", "tokenizer kind", choices=TOKENIZER_KINDS)
    vocabulary_size: int | None = setting(
        None, "vocabulary size of trained tokenizers (word and subword kinds); None: the kind's"
    )
    sequence_length: int = setting(64, "context length in tokens, the same for every model")
    batch_size: int = setting(32, "sequences per training step, the same for every model")
    # The models.
    models: tuple = setting(("transformer", "lstm"), "registered model kinds to compare")
    preset: str = setting(
        "tiny",
        "preset of every model: tiny, nanogpt-cpu or nanogpt-gpu; the LSTM presets are sized to "
        "about the parameter count of the Transformer of the same name",
    )
    presets: tuple = setting(
        (),
        "KIND=PRESET pairs overriding --preset for some kinds (e.g. lstm=nanogpt-cpu)",
        metavar="KIND=PRESET",
    )
    # The budget every model gets.
    budget: str = setting(
        "time",
        "steps: equal optimizer steps; time: equal seconds of training; flops: equal training "
        "FLOPs, turned into steps per model from its FLOPs per token",
        choices=BUDGET_KINDS,
    )
    budget_value: float | None = setting(
        None,
        "the amount per model: steps, seconds or FLOPs; None: by budget, "
        f"{_budget_values_text(BUDGET_VALUES)} (--quick: "
        f"{_budget_values_text(QUICK_BUDGET_VALUES)})",
    )
    seeds: tuple = setting(
        (0,),
        "seeds (weights and data order); with two or more, each figure gets a mean and spread",
        item_type=int,
    )
    learning_rate: float = setting(3e-3, "peak learning rate of every model")
    # Evaluation and samples.
    max_eval_batches: int | None = setting(
        None, "batches of each split in the final evaluation; None: the whole splits"
    )
    curve_batches: int = setting(
        20, "validation batches per point of the training curves (at most max_eval_batches)"
    )
    prompts: tuple = setting(
        DEFAULT_PROMPTS,
        "prompts to sample every model with (on tang_poems the default is a poem's title and "
        "author: 春曉 孟浩然, 靜夜思 李白)",
    )
    max_new_tokens: int = setting(200, "tokens to generate per sample")
    top_k: int = setting(10, "k of the top-k samples")
    # Output.
    out: str | None = setting(None, "output directory, new or empty; None: runs/compare-TIMESTAMP")
    quick: bool = setting(
        False, "a smoke test in under 2 minutes: few steps, short samples, small evaluation"
    )
    verbose: int = setting(
        1, "1 shows Keras progress bars, 0 only a headline per model", choices=(0, 1), record=False
    )

    def __post_init__(self):
        self._normalize()
        self._check()

    @classmethod
    def create(cls, quick=False, **settings):
        """A config with the `QUICK` defaults when `quick`; `settings` override either.

        Also takes `seeds` as a count (`seeds=3` is seeds 0, 1, 2).
        """
        _check_names(settings)
        defaults = QUICK if quick else {}
        return cls(**{**defaults, **settings, "quick": bool(quick)})

    def replace(self, **overrides):
        """A copy with `overrides`; names unknown to `CompareConfig` are an error."""
        _check_names(overrides)
        return dataclasses.replace(self, **overrides)

    def _normalize(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        if isinstance(self.corpus, os.PathLike):
            put("corpus", os.fspath(self.corpus))
        if isinstance(self.out, os.PathLike):
            put("out", os.fspath(self.out))
        if isinstance(self.models, str):
            put("models", (self.models,))
        if isinstance(self.prompts, str):
            put("prompts", (self.prompts,))
        if isinstance(self.seeds, int) and not isinstance(self.seeds, bool):
            check_positive_int("seeds", self.seeds)
            put("seeds", tuple(range(self.seeds)))
        if isinstance(self.presets, dict):
            put("presets", tuple(f"{kind}={name}" for kind, name in self.presets.items()))
        if self.prompts == DEFAULT_PROMPTS and self.corpus in CORPUS_PROMPTS:
            put("prompts", CORPUS_PROMPTS[self.corpus])
        for name in ("models", "prompts", "seeds", "presets"):
            value = getattr(self, name)
            if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                raise ValueError(f"`{name}` must be a list. Received: {name}={value!r}")
            put(name, tuple(value))
        if (
            self.budget == "steps"
            and isinstance(self.budget_value, float)
            and self.budget_value.is_integer()
        ):
            put("budget_value", int(self.budget_value))

    def _check(self):
        if not isinstance(self.corpus, str) or not self.corpus:
            raise ValueError(
                f"`corpus` must be a corpus name or a path. Received: corpus={self.corpus!r}"
            )
        check_choice("tokenizer", self.tokenizer, TOKENIZER_KINDS)
        for kind in self.models:
            check_choice("models", kind, tuple(MODEL_KINDS))
        if not self.models or len(set(self.models)) != len(self.models):
            raise ValueError(
                f"`models` must list distinct model kinds. Received: models={self.models!r}"
            )
        for kind, name in self.model_presets.items():
            if name not in model_class(kind).presets:
                valid = ", ".join(repr(p) for p in model_class(kind).presets)
                raise ValueError(
                    f"Unknown preset for the {kind} model: must be one of {valid}. "
                    f"Received: preset={name!r}"
                )
        check_choice("budget", self.budget, BUDGET_KINDS)
        Budget(self.budget, self.budget_amount)  # checks the value
        for name in ("sequence_length", "batch_size", "curve_batches", "max_new_tokens", "top_k"):
            check_positive_int(name, getattr(self, name))
        check_optional_positive_int("vocabulary_size", self.vocabulary_size)
        check_optional_positive_int("max_eval_batches", self.max_eval_batches)
        check_positive_number("learning_rate", self.learning_rate)
        seeds = self.seeds
        if (
            not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            raise ValueError(
                f"`seeds` must be a number or a list of distinct integers >= 0. Received: seeds="
                f"{seeds!r}"
            )
        if not self.prompts or not all(isinstance(p, str) and p for p in self.prompts):
            raise ValueError(
                f"`prompts` must be a list of non-empty strings. Received: prompts={self.prompts!r}"
            )
        for prompt in self.prompts:
            check_unicode_text("prompts", prompt)
        check_choice("verbose", self.verbose, (0, 1))

    @property
    def model_presets(self):
        """`{kind: preset}` for every compared kind: `preset`, unless `presets` names another."""
        chosen = {kind: self.preset for kind in self.models}
        for pair in self.presets:
            kind, separator, name = pair.partition("=")
            if not separator or not name:
                raise ValueError(
                    f"`presets` must hold KIND=PRESET pairs. Received: presets={self.presets!r}"
                )
            check_choice("presets", kind, tuple(MODEL_KINDS))
            if kind in chosen:
                chosen[kind] = name
        return chosen

    @property
    def budget_amount(self):
        """`budget_value`, or the budget kind's default (the quick one when `quick`)."""
        if self.budget_value is not None:
            return self.budget_value
        return (QUICK_BUDGET_VALUES if self.quick else BUDGET_VALUES)[self.budget]

    @property
    def eval_curve_batches(self):
        """Validation batches per curve point: `curve_batches`, at most `max_eval_batches`."""
        if self.max_eval_batches is None:
            return self.curve_batches
        return min(self.curve_batches, self.max_eval_batches)

    def output_directory(self):
        """`out` or runs/compare-TIMESTAMP, checked to be new or empty. Creates nothing."""
        out = self.out or Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise ValueError(
                f"`out` must be a directory, but a file of that name exists. Received: out='{out}'"
            )
        if path.is_dir() and any(path.iterdir()):
            raise ValueError(
                "`out` must be a new or empty directory: a comparison does not overwrite earlier "
                f"results. Received: out='{out}'"
            )
        return path

    def record(self, data):
        """The shared settings as JSON-ready data, for results.json and the report."""
        presets = self.model_presets
        same = len(set(presets.values())) == 1
        return {
            "corpus": self.corpus,
            "corpus_description": getattr(data.corpus, "description", ""),
            "tokenizer": self.tokenizer,
            "vocabulary_size": int(data.tokenizer.vocabulary_size),
            "sequence_length": self.sequence_length,
            "batch_size": self.batch_size,
            "budget": Budget(self.budget, self.budget_amount).to_dict(),
            "seeds": list(self.seeds),
            "presets": presets,
            "learning_rate": self.learning_rate,
            "max_eval_batches": self.max_eval_batches,
            "curve_batches": self.eval_curve_batches,
            "prompts": list(self.prompts),
            "max_new_tokens": self.max_new_tokens,
            "top_k": self.top_k,
            "quick": self.quick,
            "sizing": SIZING if same else "The presets differ, chosen by hand.",
            "characters_per_token": dict(data.characters_per_token),
        }


def _check_names(settings):
    valid = [field.name for field in dataclasses.fields(CompareConfig)]
    check_known_names("comparison setting(s)", settings, valid)
