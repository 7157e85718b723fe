"""Turning a `ComparisonResult` into words: the reading, report.md, results.json, terminal text.

The reading is generated from the numbers only: which model won on which figure and by how much,
whether the gap is larger than the spread across seeds, and the caveats that always apply to a
small comparison. The lesson is notebooks/06_lstm_vs_transformer.ipynb.
"""

import json
import re
import textwrap
import unicodedata
from pathlib import Path

from tlm.compare.results import FIGURE_BY_KEY, format_number
from tlm.files import write_text_atomically
from tlm.models import label_of

# The scores the reading discusses, in order of importance.
SCORES = (
    "test_perplexity",
    "validation_perplexity",
    "test_bits_per_character",
    "test_bits_per_word",
    "train_tokens_per_second",
    "generation_tokens_per_second",
)


def describe_budget(settings):
    """One phrase for the shared budget, e.g. `"240 s of training per model"`."""
    budget = settings.get("budget", {})
    kind, value = budget.get("kind"), budget.get("value")
    if kind == "steps":
        return f"{format_number(value, 0)} training steps per model"
    if kind == "time":
        return f"{format_number(value, 0)} s of training per model, after compiling"
    if kind == "flops":
        return f"{value:.3g} training FLOPs per model"
    return "an unspecified budget"


def compare_figure(summary, key, first, second):
    """One sentence on figure `key` between two kinds; None when either did not measure it.

    Example:

    >>> from tlm.compare.results import Stat
    >>> summary = {"transformer": {"test_perplexity": Stat.of([5.0])},
    ...            "lstm": {"test_perplexity": Stat.of([6.0])}}
    >>> compare_figure(summary, "test_perplexity", "transformer", "lstm")
    'Test perplexity: the Transformer won, 5.00 against 6.00 (16.7% lower).'
    """
    figure = FIGURE_BY_KEY[key]
    a, b = summary.get(first, {}).get(key), summary.get(second, {}).get(key)
    if a is None or b is None or not a.values or not b.values:
        return None
    if a.mean == b.mean:
        return f"{figure.label}: a tie at {format_number(a.mean, figure.decimals)}."
    lower_wins = figure.better == "lower"
    first_wins = (a.mean < b.mean) == lower_wins
    winner = first if first_wins else second
    w, lo = (a, b) if first_wins else (b, a)
    relative = abs(w.mean - lo.mean) / abs(lo.mean) * 100 if lo.mean else float("inf")
    direction = "lower" if lower_wins else "higher"
    sentence = (
        f"{figure.label}: the {label_of(winner)} won, "
        f"{format_number(w.mean, figure.decimals)} against "
        f"{format_number(lo.mean, figure.decimals)} ({relative:.1f}% {direction})."
    )
    if len(a.values) > 1 and len(b.values) > 1 and abs(a.mean - b.mean) <= a.std + b.std:
        sentence += (
            f" The gap is within the spread across seeds (± {format_number(w.std, figure.decimals)}"
            f" and ± {format_number(lo.std, figure.decimals)}), so it is not a clear win."
        )
    return sentence


def reading(result):
    """A short, honest reading of the result as a list of paragraphs (plain Markdown)."""
    summary, settings = result.summary, result.settings
    kinds = result.kinds
    paragraphs = []
    if len(kinds) != 2:
        return ["Only one model ran, so there is nothing to compare."]
    first, second = kinds
    budget = describe_budget(settings)

    headline = compare_figure(summary, "test_perplexity", first, second)
    if headline:
        paragraphs.append(f"Under the same budget ({budget}). {headline}")

    lines = [compare_figure(summary, key, first, second) for key in SCORES[1:]]
    lines = [f"- {line}" for line in lines if line]
    if lines:
        paragraphs.append("\n".join(lines))

    parameters = {k: summary[k].get("parameters") for k in kinds}
    if all(parameters.values()):
        p1, p2 = parameters[first].mean, parameters[second].mean
        gap = abs(p1 - p2) / max(p1, p2) * 100
        paragraphs.append(
            f"Size: the {label_of(first)} has {format_number(p1, 0)} parameters and the "
            f"{label_of(second)} {format_number(p2, 0)} ({gap:.1f}% apart). "
            + settings.get("sizing", "")
        )

    steps = {k: summary[k].get("steps") for k in kinds}
    if settings.get("budget", {}).get("kind") in ("time", "flops") and all(steps.values()):
        paragraphs.append(
            f"Under this budget the {label_of(first)} made {format_number(steps[first].mean, 0)}"
            f" steps and the {label_of(second)} {format_number(steps[second].mean, 0)}: "
            + (
                "the faster model sees more text in the same time."
                if settings["budget"]["kind"] == "time"
                else "the cheaper model per token sees more text for the same FLOPs."
            )
        )

    paragraphs.extend(published_figures(settings))

    caveats = [
        f"the budget is small ({budget}), so both models are far from converged and the "
        "ranking can change with more training",
        f"one corpus ({settings.get('corpus', '?')}) and one tokenizer "
        f"({settings.get('tokenizer', '?')})",
        "the same learning rate and schedule for both, not tuned for either",
    ]
    if len(result.seeds) < 2:
        caveats.append("one seed, so there is no estimate of the spread (run with `--seeds 0 1 2`)")
    else:
        caveats.append(f"{len(result.seeds)} seeds; figures are mean ± sample standard deviation")
    caveats.append("speeds are measured on this machine and depend on its load")
    paragraphs.append("Caveats: " + "; ".join(caveats) + ".")
    return paragraphs


def published_figures(settings):
    """For orientation, the published results of `tlm.training.TRAINING_PRESETS` on this corpus
    and tokenizer (Zaremba et al. 2014 on ptb), as paragraphs; none for other data.

    Example:

    >>> published_figures({"corpus": "ptb", "tokenizer": "word"})[0][:60]
    'For orientation: on this corpus Zaremba, Sutskever and Vinya'
    """
    from tlm.training.presets import TRAINING_PRESETS

    paragraphs = []
    for name, preset in TRAINING_PRESETS.items():
        if preset.corpus != (settings.get("corpus"), settings.get("tokenizer")):
            continue
        paragraphs.append(
            f"For orientation: on this corpus {preset.reference} reached a test perplexity of "
            f"{preset.published['test']} (validation {preset.published['validation']}) with a "
            f"stateful LSTM trained for {preset.config.epochs} epochs (tlm's `{name}` recipe, "
            "`benchmarks/ptb_zaremba.py`); a comparison under a small budget trains far less."
        )
        break  # the first (smallest) recipe is enough for orientation
    return paragraphs


def sample_table(samples, kinds):
    """The samples as a Markdown table: one row per prompt and strategy, one column per model."""
    header = ["Prompt", "Decoding"] + [label_of(k) for k in kinds]
    rows = [header, ["---"] * len(header)]
    for sample in samples:
        texts = [_markdown_cell(sample["texts"].get(k, "")) for k in kinds]
        rows.append([_markdown_cell(sample["prompt"]), sample["strategy"], *texts])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _markdown_cell(text):
    text = text.replace("|", "\\|").replace("\n", "<br>")
    return f"`{text}`" if text and "`" not in text else text


def display_width(text):
    """Terminal columns `text` takes: two for wide characters (Chinese, Japanese, full-width
    forms: East Asian width W or F), none for combining marks, one for the rest.

    >>> display_width("ROMEO:"), display_width("床前明月光，")
    (6, 12)
    """
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def wrap_display(line, width):
    """`textwrap.wrap` by terminal columns: a line with wide characters (which have no spaces
    between words) is cut character by character, as the terminal would."""
    if display_width(line) == len(line):
        return textwrap.wrap(line, width)
    lines, current = [], ""
    for character in line:
        if current and display_width(current + character) > width:
            lines.append(current.rstrip())
            current = character.lstrip()
        else:
            current += character
    return [*lines, current.rstrip()] if current.strip() else lines


def pad_display(text, width):
    """`text` padded with spaces to `width` terminal columns (`str.ljust` counts characters)."""
    return text + " " * max(0, width - display_width(text))


def format_samples(samples, kinds, width=100, max_lines=12):
    """The samples side by side in columns for the terminal (runs of blank lines squeezed);
    Chinese text is wrapped and aligned by terminal columns, two per character."""
    if not samples:
        return ""
    column = max(20, (width - 3 * (len(kinds) - 1)) // max(1, len(kinds)))
    blocks = []
    for sample in samples:
        title = f"Prompt {sample['prompt']!r}, {sample['strategy']}:"
        wrapped = []
        for kind in kinds:
            lines = []
            text = re.sub(r"\n\s*\n+", "\n\n", sample["texts"].get(kind, ""))
            for line in text.split("\n"):
                lines.extend(wrap_display(line, column) or [""])
            if len(lines) > max_lines:
                lines = lines[:max_lines] + ["..."]
            wrapped.append([label_of(kind).upper(), *lines])
        height = max(len(lines) for lines in wrapped)
        body = [
            " | ".join(
                pad_display(lines[i] if i < len(lines) else "", column) for lines in wrapped
            ).rstrip()
            for i in range(height)
        ]
        blocks.append("\n".join([title, *body]))
    return "\n\n".join(blocks)


def describe_settings(settings):
    """The shared settings as a Markdown bullet list."""
    presets = settings.get("presets", {})
    items = [
        ("Corpus", settings.get("corpus")),
        ("Tokenizer", settings.get("tokenizer")),
        ("Vocabulary size", settings.get("vocabulary_size")),
        ("Sequence length", settings.get("sequence_length")),
        ("Batch size", settings.get("batch_size")),
        ("Budget", describe_budget(settings)),
        ("Seeds", ", ".join(str(s) for s in settings.get("seeds", []))),
        ("Presets", ", ".join(f"{label_of(k)} `{p}`" for k, p in presets.items())),
    ]
    return "\n".join(f"- {name}: {value}" for name, value in items if value not in (None, ""))


def write_report(result, path):
    """Write report.md: settings, table, reading, plots, samples and the run directories."""
    path = Path(path)
    kinds = result.kinds
    names = " vs ".join(label_of(k) for k in kinds)
    parts = [
        f"# {names}",
        "Both models trained on the same data under the same budget:",
        describe_settings(result.settings),
        "## Results",
        result.table(),
        "Perplexities and bits per character are over the validation and test splits"
        + (
            f" (at most {result.settings['max_eval_batches']} batches each)."
            if result.settings.get("max_eval_batches")
            else "."
        )
        + " Wall time is the whole of training, compilation and validation included; a time"
        " budget counts from the end of the first (compiling) step. Tokens/s are measured on"
        " this machine. Generation speed is greedy decoding of one sequence of"
        f" {result.settings.get('max_new_tokens', 'the')} new tokens, timed over repeated calls"
        " after the first; the first call, which traces and compiles the decoding loop, is"
        " timed on its own (Gen first call).",
        "## Reading",
        *reading(result),
    ]
    if result.plots:
        parts.append("## Plots")
        batches = result.settings.get("curve_batches")
        if batches:
            parts.append(
                f"The validation curves score the first {batches} validation batches at each "
                "point (cheap enough to repeat during training); the table scores the split."
            )
        for name, plot in result.plots.items():
            parts.append(f"![{name}]({plot})")
    if result.samples:
        parts.append("## Samples")
        parts.append("The same prompts for both models, greedy and top-k decoding.")
        parts.append(sample_table(result.samples, kinds))
    parts.append("## Runs")
    parts.append(
        "Each directory is a normal tlm run: `tlm generate DIR` and `tlm evaluate DIR` work on it."
    )
    parts.append(
        "\n".join(f"- {label_of(r.kind)}, seed {r.seed}: `{r.run_dir}`" for r in result.runs)
    )
    if result.wall_time == result.wall_time:  # not NaN
        parts.append(f"The whole comparison took {result.wall_time:.0f} s.")
    write_text_atomically(path, "\n\n".join(parts) + "\n")
    return path


def write_results_json(result, path):
    """Write results.json with every figure, curve, sample and setting."""
    path = Path(path)
    write_text_atomically(path, json.dumps(result.to_dict(), indent=2) + "\n")
    return path
