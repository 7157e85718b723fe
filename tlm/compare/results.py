"""What a comparison measures: the figures, one run per model and seed, and their summary.

`ModelRun` holds one model trained with one seed; `ComparisonResult` holds every run, the
settings they shared, the samples and the plots, and turns them into a table. With several seeds
each figure is summarised by its mean and its spread (sample standard deviation, min and max).

The lesson that reads these numbers is notebooks/06_lstm_vs_transformer.ipynb.
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tlm.models import label_of


@dataclass(frozen=True)
class Figure:
    """One measured figure: its key in `ModelRun.figures`, its label and which way is better."""

    key: str
    label: str
    unit: str = ""
    better: str | None = None  # "lower", "higher" or None (a setting, not a score)
    decimals: int = 2


# The table's columns, in order. Every key is also a field of results.json.
FIGURES = (
    Figure("parameters", "Parameters", decimals=0),
    Figure("steps", "Steps", decimals=0),
    Figure("tokens_seen", "Tokens seen", decimals=0),
    Figure("wall_time", "Wall time", unit="s", decimals=1),
    Figure("train_tokens_per_second", "Train tokens/s", better="higher", decimals=0),
    Figure("validation_perplexity", "Val perplexity", better="lower"),
    Figure("test_perplexity", "Test perplexity", better="lower"),
    Figure("test_bits_per_character", "Test bits/char", better="lower", decimals=3),
    # Only for a tokenized corpus, whose words are its tokens (ptb); left out of other tables.
    Figure("test_bits_per_word", "Test bits/word", better="lower", decimals=3),
    Figure("generation_tokens_per_second", "Gen tokens/s", better="higher", decimals=0),
    Figure("generation_first_call_seconds", "Gen first call", unit="s", decimals=2),
)
FIGURE_BY_KEY = {figure.key: figure for figure in FIGURES}


@dataclass(frozen=True)
class Stat:
    """Mean and spread of one figure over seeds (`std` is the sample standard deviation)."""

    mean: float
    std: float
    min: float
    max: float
    values: tuple

    @classmethod
    def of(cls, values):
        """Summarise a list of numbers; NaN entries (a figure not measured) are left out.

        Example:

        >>> Stat.of([1.0, 2.0, 3.0]).std
        1.0
        """
        values = tuple(float(v) for v in values if v is not None and not math.isnan(float(v)))
        if not values:
            nan = float("nan")
            return cls(nan, nan, nan, nan, ())
        mean = sum(values) / len(values)
        if len(values) > 1:
            variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
        else:
            variance = 0.0
        return cls(mean, math.sqrt(variance), min(values), max(values), values)

    def format(self, decimals=2, spread=True):
        """`"5.12 ± 0.03"` (with spread over several differing values) or `"5.12"`."""
        if not self.values:
            return "n/a"
        text = format_number(self.mean, decimals)
        if spread and len(self.values) > 1 and self.max != self.min:
            text += " ± " + format_number(self.std, decimals)
        return text


def format_number(value, decimals=2):
    """Thousands separators for large numbers, `decimals` digits otherwise.

    Example:

    >>> format_number(1234567, 0), format_number(3.14159, 2)
    ('1,234,567', '3.14')
    """
    if value is None or math.isnan(value):
        return "n/a"
    if decimals == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


@dataclass
class ModelRun:
    """One model trained with one seed.

    Args:
        kind: a registered model kind (`"transformer"`, `"lstm"`, ...).
        preset: the preset the model was built from.
        seed: the seed of weights initialisation and data order.
        run_dir: the tlm run directory written by `tlm.training.train`.
        figures: the measured figures, keyed as in `FIGURES` (plus extra ones such as
            `flops_per_token`, `validation_bits_per_character`).
        curve: validation perplexity during training: lists `step`, `wall_time`,
            `validation_perplexity` of equal length.
        config: the model's `get_config()`.
    """

    kind: str
    preset: str
    seed: int
    run_dir: str
    figures: dict
    curve: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


@dataclass
class ComparisonResult:
    """Every run of a comparison, the settings they shared, samples and plots.

    Args:
        out: the comparison's output directory.
        settings: what both models shared (corpus, tokenizer, sequence_length, batch_size,
            budget, seeds, presets, ...).
        runs: one `ModelRun` per model and seed.
        samples: `{"prompt", "strategy", "texts": {kind: text}}` per prompt and decoding strategy.
        plots: plot name -> path of the PNG, relative to `out`.
        wall_time: seconds the whole comparison took.
        provenance: the command, tlm version and commit, machine and date
            (`tlm.provenance.provenance`), or None.

    Example:

    >>> run = lambda kind, ppl: ModelRun(kind, "tiny", 0, kind, {"test_perplexity": ppl})
    >>> result = ComparisonResult(".", {}, [run("transformer", 5.0), run("lstm", 6.0)])
    >>> result.kinds
    ['transformer', 'lstm']
    >>> result.summary["lstm"]["test_perplexity"].mean
    6.0
    """

    out: Path
    settings: dict
    runs: list
    samples: list = field(default_factory=list)
    plots: dict = field(default_factory=dict)
    wall_time: float = float("nan")
    provenance: dict | None = None

    @property
    def kinds(self):
        """The model kinds compared, in the order they ran."""
        return list(dict.fromkeys(run.kind for run in self.runs))

    @property
    def seeds(self):
        return list(dict.fromkeys(run.seed for run in self.runs))

    def runs_of(self, kind):
        return [run for run in self.runs if run.kind == kind]

    @property
    def summary(self):
        """`{kind: {figure key: Stat}}` over seeds, for every figure any run measured."""
        summary = {}
        for kind in self.kinds:
            runs = self.runs_of(kind)
            keys = list(dict.fromkeys(key for run in runs for key in run.figures))
            summary[kind] = {
                key: Stat.of([run.figures.get(key, float("nan")) for run in runs]) for key in keys
            }
        return summary

    def table(self, spread=True):
        """The figures as a Markdown table, one row per model (mean ± spread over seeds)."""
        return format_table(self.summary, spread=spread)

    @classmethod
    def from_dict(cls, data):
        """The result `to_dict` (results.json) describes; figures written as null become NaN.

        Example:

        >>> run = ModelRun("lstm", "tiny", 0, "lstm", {"test_perplexity": 6.0})
        >>> result = ComparisonResult("out", {"corpus": "x"}, [run], wall_time=1.5)
        >>> again = ComparisonResult.from_dict(result.to_dict())
        >>> again.to_dict() == result.to_dict()
        True
        """
        if data.get("tlm_comparison") != 1:
            raise ValueError(
                "Not the results.json of a tlm comparison (format 1). Received: "
                f"tlm_comparison={data.get('tlm_comparison')!r}"
            )
        nan = float("nan")
        runs = []
        for run in data["runs"]:
            figures = {k: nan if v is None else v for k, v in run["figures"].items()}
            runs.append(ModelRun(**{**run, "figures": figures}))
        wall_time = data.get("wall_time")
        return cls(
            Path(data["out"]),
            data["settings"],
            runs,
            samples=data.get("samples", []),
            plots=data.get("plots", {}),
            wall_time=nan if wall_time is None else wall_time,
            provenance=data.get("provenance"),
        )

    def to_dict(self):
        """Everything as JSON-ready data: settings, per-run figures and curves, summary."""
        summary = {
            kind: {key: _stat_dict(stat) for key, stat in stats.items()}
            for kind, stats in self.summary.items()
        }
        return {
            "tlm_comparison": 1,
            "out": str(self.out),
            "wall_time": _json_number(self.wall_time),
            "provenance": self.provenance,
            "settings": self.settings,
            "summary": summary,
            "runs": [_json_ready(asdict(run)) for run in self.runs],
            "samples": self.samples,
            "plots": self.plots,
        }


def format_table(summary, spread=True, figures=FIGURES):
    """A Markdown table of `{kind: {figure key: Stat}}`, one row per model.

    Columns no model measured are left out. Units go into the header.
    """
    columns = [f for f in figures if any(f.key in stats for stats in summary.values())]
    header = ["Model"] + [f"{f.label} ({f.unit})" if f.unit else f.label for f in columns]
    rows = [header, ["---"] + ["---:"] * len(columns)]
    for kind, stats in summary.items():
        cells = [label_of(kind)]
        for figure in columns:
            stat = stats.get(figure.key)
            cells.append(stat.format(figure.decimals, spread) if stat else "n/a")
        rows.append(cells)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _stat_dict(stat):
    return {
        "mean": _json_number(stat.mean),
        "std": _json_number(stat.std),
        "min": _json_number(stat.min),
        "max": _json_number(stat.max),
        "values": [_json_number(v) for v in stat.values],
    }


def _json_number(value):
    # JSON has no NaN or infinity: a figure that was not measured is null.
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _json_number(value.item())
    return _json_number(value)
