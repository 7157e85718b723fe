"""The settings of a comparison: defaults (normal and `quick`) and every check, before any work.

`resolve_settings` fills in the defaults and raises a `ValueError` naming the argument, the rule
and the value received for anything wrong, so a bad command fails at once and writes nothing.
"""

import dataclasses
import math
import numbers
import os
import time
from pathlib import Path

from tlm.compare.budget import BUDGET_KINDS, Budget

# The default comparison: about 10 minutes on a 2-core CPU, both models included.
DEFAULTS = {
    "preset": "tiny",
    "budget": "time",
    "budget_values": {"steps": 2000, "time": 210.0, "flops": 3e12},
    "sequence_length": 64,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "max_eval_batches": None,  # the whole validation and test splits
    "curve_batches": 20,  # validation batches per point of the training curves
    "max_new_tokens": 200,
}
# `quick`: a smoke test in well under 2 minutes (the figures mean little).
QUICK = {
    **DEFAULTS,
    "budget": "steps",
    "budget_values": {"steps": 30, "time": 20.0, "flops": 3e10},
    "sequence_length": 32,
    "batch_size": 16,
    "max_eval_batches": 8,
    "curve_batches": 4,
    "max_new_tokens": 40,
}
DEFAULT_MODELS = ("transformer", "lstm")
DEFAULT_PROMPTS = ("ROMEO:\n", "HAMLET:\nTo be, or not to be")

SIZING = (
    "The presets of the same name are matched by design: the LSTM has two layers, an embedding "
    "as wide as the Transformer's hidden size, and the LSTM width whose total parameter count "
    "comes closest to the Transformer's (see `tlm.models.config`)."
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Resolved, checked settings of one comparison (see `compare_baselines` for each)."""

    corpus: str
    tokenizer: str
    models: tuple
    presets: dict
    budget: str
    budget_value: float
    sequence_length: int
    batch_size: int
    seeds: tuple
    learning_rate: float
    vocabulary_size: int | None
    max_eval_batches: int | None
    curve_batches: int
    prompts: tuple
    max_new_tokens: int
    top_k: int
    out: str
    quick: bool
    verbose: int

    def record(self, data):
        """The shared settings as JSON-ready data, for results.json and the report."""
        same = len(set(self.presets.values())) == 1
        return {
            "corpus": self.corpus,
            "corpus_description": getattr(data.corpus, "description", ""),
            "tokenizer": self.tokenizer,
            "vocabulary_size": int(data.tokenizer.vocabulary_size),
            "sequence_length": self.sequence_length,
            "batch_size": self.batch_size,
            "budget": Budget(self.budget, self.budget_value).to_dict(),
            "seeds": list(self.seeds),
            "presets": dict(self.presets),
            "learning_rate": self.learning_rate,
            "max_eval_batches": self.max_eval_batches,
            "curve_batches": self.curve_batches,
            "prompts": list(self.prompts),
            "max_new_tokens": self.max_new_tokens,
            "top_k": self.top_k,
            "quick": self.quick,
            "sizing": SIZING if same else "The presets differ, chosen by hand.",
            "characters_per_token": dict(data.characters_per_token),
        }


def resolve_settings(
    *,
    corpus,
    tokenizer,
    models,
    preset,
    presets,
    budget,
    budget_value,
    sequence_length,
    batch_size,
    seeds,
    learning_rate,
    vocabulary_size,
    max_eval_batches,
    prompts,
    max_new_tokens,
    top_k,
    out,
    quick,
    verbose,
):
    """Fill in the defaults and check every argument; return `Settings`."""
    from tlm.data.tokenizers import TOKENIZER_KINDS
    from tlm.models import MODEL_KINDS, PRESETS

    defaults = QUICK if quick else DEFAULTS
    if not isinstance(corpus, str | os.PathLike) or not os.fspath(corpus):
        raise ValueError(f"`corpus` must be a corpus name or a path. Received: corpus={corpus!r}")
    corpus = os.fspath(corpus)
    if tokenizer not in TOKENIZER_KINDS:
        valid = ", ".join(repr(k) for k in TOKENIZER_KINDS)
        raise ValueError(f"`tokenizer` must be one of {valid}. Received: tokenizer={tokenizer!r}")

    models = tuple(DEFAULT_MODELS if models is None else models)
    for kind in models:
        if kind not in MODEL_KINDS:
            valid = ", ".join(repr(k) for k in MODEL_KINDS)
            raise ValueError(f"Unknown model kind: must be one of {valid}. Received: {kind!r}")
    if not models or len(set(models)) != len(models):
        raise ValueError(f"`models` must list distinct model kinds. Received: models={models!r}")

    preset = defaults["preset"] if preset is None else preset
    chosen = {kind: preset for kind in models}
    for kind, name in (presets or {}).items():
        if kind not in MODEL_KINDS:
            valid = ", ".join(repr(k) for k in MODEL_KINDS)
            raise ValueError(f"Unknown model kind: must be one of {valid}. Received: {kind!r}")
        if kind in chosen:
            chosen[kind] = name
    for kind, name in chosen.items():
        if name not in PRESETS or kind not in PRESETS[name]:
            valid = ", ".join(repr(p) for p in PRESETS)
            raise ValueError(
                f"Unknown preset for the {kind} model: must be one of {valid}. "
                f"Received: preset={name!r}"
            )

    budget = defaults["budget"] if budget is None else budget
    if budget not in BUDGET_KINDS:
        valid = ", ".join(repr(k) for k in BUDGET_KINDS)
        raise ValueError(f"`budget` must be one of {valid}. Received: budget={budget!r}")
    if budget_value is None:
        budget_value = defaults["budget_values"][budget]
    if budget == "steps" and isinstance(budget_value, float) and budget_value.is_integer():
        budget_value = int(budget_value)
    Budget(budget, budget_value)  # checks the value

    sequence_length = _positive_int(
        "sequence_length",
        defaults["sequence_length"] if sequence_length is None else sequence_length,
    )
    batch_size = _positive_int(
        "batch_size", defaults["batch_size"] if batch_size is None else batch_size
    )
    seeds = _seeds(seeds)
    learning_rate = defaults["learning_rate"] if learning_rate is None else learning_rate
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, numbers.Real)
        or not math.isfinite(learning_rate)
        or learning_rate <= 0
    ):
        raise ValueError(
            f"`learning_rate` must be a number greater than 0. Received: learning_rate="
            f"{learning_rate!r}"
        )
    if vocabulary_size is not None:
        _positive_int("vocabulary_size", vocabulary_size)
    if max_eval_batches is None:
        max_eval_batches = defaults["max_eval_batches"]
    if max_eval_batches is not None:
        _positive_int("max_eval_batches", max_eval_batches)
    curve_batches = defaults["curve_batches"]
    if max_eval_batches is not None:
        curve_batches = min(curve_batches, max_eval_batches)

    prompts = tuple(DEFAULT_PROMPTS if prompts is None else prompts)
    if not prompts or not all(isinstance(p, str) and p for p in prompts):
        raise ValueError(
            f"`prompts` must be a list of non-empty strings. Received: prompts={prompts!r}"
        )
    max_new_tokens = _positive_int(
        "max_new_tokens", defaults["max_new_tokens"] if max_new_tokens is None else max_new_tokens
    )
    top_k = _positive_int("top_k", top_k)

    out = _output_directory(out)
    return Settings(
        corpus=corpus,
        tokenizer=tokenizer,
        models=models,
        presets=chosen,
        budget=budget,
        budget_value=budget_value,
        sequence_length=sequence_length,
        batch_size=batch_size,
        seeds=seeds,
        learning_rate=float(learning_rate),
        vocabulary_size=vocabulary_size,
        max_eval_batches=max_eval_batches,
        curve_batches=curve_batches,
        prompts=prompts,
        max_new_tokens=max_new_tokens,
        top_k=top_k,
        out=out,
        quick=bool(quick),
        verbose=int(verbose),
    )


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be an integer of at least 1. Received: {name}={value!r}")
    return int(value)


def _seeds(seeds):
    if seeds is None:
        return (0,)
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        _positive_int("seeds", seeds)
        return tuple(range(int(seeds)))
    if isinstance(seeds, str | bytes):
        raise ValueError(f"`seeds` must be a number or a list of integers. Received: {seeds!r}")
    seeds = tuple(seeds)
    if (
        not seeds
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds)
        or len(set(seeds)) != len(seeds)
        or any(s < 0 for s in seeds)
    ):
        raise ValueError(
            f"`seeds` must be a number or a list of distinct integers >= 0. Received: seeds="
            f"{seeds!r}"
        )
    return tuple(int(s) for s in seeds)


def _output_directory(out):
    if out is None:
        out = Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
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
    return os.fspath(path)
