"""Comparison charts: validation curves of both models, final figures, an attention heatmap.

The plots draw from plain data (lists of numbers, `Stat` summaries, arrays), not from models, so
they are cheap to test. They use `matplotlib.figure.Figure` directly, without pyplot, so they
work on machines without a display and never leave global figures open.
The lesson is notebooks/06_lstm_vs_transformer.ipynb.
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tlm.compare.results import FIGURE_BY_KEY
from tlm.files import atomic_path
from tlm.models import label_of
from tlm.plotting import font_family_for

# The final figures the bar chart shows, one panel each.
BAR_FIGURES = (
    "validation_perplexity",
    "test_perplexity",
    "test_bits_per_character",
    "train_tokens_per_second",
    "generation_tokens_per_second",
)


def plot_validation_curves(curves, path, title="Validation perplexity"):
    """Validation perplexity against steps (left) and wall time (right), all models on one chart.

    Args:
        curves: `{kind: [curve, ...]}`, one curve per seed; a curve is a dict of equal-length
            lists `step`, `wall_time` and `validation_perplexity`.
        path: where to write the PNG.
        title: the figure's title.

    Example:

    >>> import tempfile, os
    >>> curve = {"step": [10, 20], "wall_time": [1.0, 2.0], "validation_perplexity": [9.0, 7.0]}
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> plot_validation_curves({"lstm": [curve]}, path).name
    'curves.png'
    """
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    for index, (kind, runs) in enumerate(curves.items()):
        for seed_index, curve in enumerate(runs):
            perplexity = curve.get("validation_perplexity") or []
            if not perplexity:
                continue
            for ax, x_key in zip(axes, ("step", "wall_time"), strict=True):
                x = curve.get(x_key) or []
                if len(x) != len(perplexity):
                    continue
                ax.plot(
                    x,
                    perplexity,
                    marker="o",
                    markersize=3,
                    color=f"C{index}",  # one colour per kind, the same in every chart
                    alpha=1.0 if seed_index == 0 else 0.45,
                    label=label_of(kind) if seed_index == 0 else None,
                )
    axes[0].set_xlabel("training step")
    axes[1].set_xlabel("wall time (s)")
    axes[0].set_ylabel("validation perplexity")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    if any(ax.has_data() for ax in axes) and _positive(axes):
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        for ax in axes:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
    figure.suptitle(title)
    return _save(figure, path)


def _positive(axes):
    return all(
        np.all(np.asarray(line.get_ydata(), dtype=float) > 0) for ax in axes for line in ax.lines
    )


def plot_final_figures(summary, path, keys=BAR_FIGURES, title="Final figures"):
    """A bar chart of the final figures, one panel per figure, error bars over seeds.

    Args:
        summary: `{kind: {figure key: Stat}}`, as `ComparisonResult.summary` gives.
        path: where to write the PNG.
        keys: the figures to show; those no model measured are skipped.
        title: the figure's title.
    """
    keys = [k for k in keys if any(k in stats and stats[k].values for stats in summary.values())]
    kinds = list(summary)
    figure = Figure(figsize=(2.6 * max(1, len(keys)), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, max(1, len(keys)), squeeze=False)[0])
    for ax, key in zip(axes, keys, strict=False):
        spec = FIGURE_BY_KEY.get(key)
        means = [summary[k][key].mean if key in summary[k] else np.nan for k in kinds]
        errors = [summary[k][key].std if key in summary[k] else 0.0 for k in kinds]
        bars = ax.bar(
            [label_of(k) for k in kinds],
            means,
            yerr=errors if any(e > 0 for e in errors) else None,
            capsize=4,
            color=[f"C{index}" for index in range(len(kinds))],
        )
        decimals = spec.decimals if spec else 2
        ax.bar_label(bars, labels=[_short(m, decimals) for m in means], padding=2, fontsize=8)
        label = spec.label if spec else key
        if spec and spec.better:
            label += f"\n({spec.better} is better)"
        ax.set_title(label, fontsize=10)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    return _save(figure, path)


def _short(value, decimals):
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{decimals}f}"


def plot_attention_heatmap(weights, tokens, path, title="Transformer attention"):
    """A heatmap of attention weights over one sentence: rows attend (queries) to columns (keys).

    Args:
        weights: array `(sequence_length, sequence_length)` or `(num_heads, sequence_length,
            sequence_length)`; one panel per head when there are heads.
        tokens: the token strings along both axes (length `sequence_length`).
        path: where to write the PNG.
        title: the figure's title.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim not in (2, 3) or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(
            "`weights` must have shape (sequence_length, sequence_length) or (num_heads, "
            f"sequence_length, sequence_length). Received: shape={weights.shape}"
        )
    if weights.ndim == 2:
        weights = weights[None]
    heads, length = weights.shape[0], weights.shape[-1]
    labels = [_visible(t) for t in tokens][:length]
    family = font_family_for(labels)  # a CJK font for Chinese tokens
    tick_font = {"fontsize": 7} if family is None else {"fontsize": 7, "fontfamily": family}
    columns = min(heads, 4)
    rows = -(-heads // columns)
    size = max(3.0, min(7.0, 0.22 * length + 1.5))
    figure = Figure(figsize=(size * columns, size * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    image = None
    for head, ax in enumerate(axes):
        if head >= heads:
            ax.set_visible(False)
            continue
        image = ax.imshow(weights[head], cmap="viridis", vmin=0.0, vmax=1.0)
        if heads > 1:
            ax.set_title(f"head {head}", fontsize=9)
        ax.set_xticks(range(len(labels)), labels, rotation=90, **tick_font)
        ax.set_yticks(range(len(labels)), labels, **tick_font)
        ax.set_xlabel("attends to (key)", fontsize=8)
        ax.set_ylabel("token (query)", fontsize=8)
    if image is not None:
        figure.colorbar(image, ax=list(axes[:heads]), shrink=0.8, label="attention weight")
    figure.suptitle(title)
    return _save(figure, path)


def _visible(token):
    # Make whitespace tokens visible on the axes.
    return {" ": "␣", "\n": "⏎", "\t": "⇥", "": "∅"}.get(token, token.replace("\n", "⏎"))


def _save(figure, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=path.suffix) as temporary:
        figure.savefig(temporary, dpi=110)
    return path
