"""Figures: training curves (and, later, attention maps and comparison charts).

A module of small functions, each returning a `matplotlib.figure.Figure` and saving it when
given a path. Figures are built with `matplotlib.figure.Figure` rather than `pyplot`, so no
window or global state is involved and they render the same in scripts, tests and notebooks.
"""

import math
import os

from matplotlib.figure import Figure

from tlm.files import atomic_path


def plot_training_curves(history, path=None, title=None):
    """Loss and perplexity per epoch, training vs validation, side by side.

    Reads Keras `History.history`-style dicts (or a run's history.json): `loss` / `val_loss`
    (nats per token) and `perplexity` / `val_perplexity`; the x axis is `epoch` when present.
    Missing series and missing (None) points are skipped. The perplexity axis is logarithmic,
    since it falls from about the vocabulary size to single digits.

    Taught in notebooks/03_lstm_language_model.ipynb.

    Args:
        history: dict of lists.
        path: str or None, where to save the PNG.
        title: str or None, figure title.

    Returns:
        The `matplotlib.figure.Figure`.

    Example:

    >>> figure = plot_training_curves({"loss": [2.0, 1.5], "val_loss": [2.1, 1.7],
    ...                                "perplexity": [7.4, 4.5], "val_perplexity": [8.2, 5.5]})
    >>> [axes.get_title() for axes in figure.axes]
    ['Loss (nats per token)', 'Perplexity']
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, perplexity_axes = figure.subplots(1, 2)
    panels = (
        (loss_axes, "loss", "Loss (nats per token)"),
        (perplexity_axes, "perplexity", "Perplexity"),
    )
    length = max((len(values) for values in history.values()), default=0)
    epochs = history.get("epoch") or list(range(1, length + 1))
    for axes, key, axes_title in panels:
        for name, label, style in ((key, "train", "-o"), (f"val_{key}", "validation", "-s")):
            points = [
                (epoch, value)
                for epoch, value in zip(epochs, history.get(name) or [], strict=False)
                if value is not None and math.isfinite(value)
            ]
            if points:
                axes.plot(*zip(*points, strict=True), style, label=label, markersize=3)
        axes.set_title(axes_title)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    if perplexity_axes.lines:
        perplexity_axes.set_yscale("log")
    if title:
        figure.suptitle(title)
    if path:
        with atomic_path(path, suffix=os.path.splitext(path)[1]) as temporary:
            figure.savefig(temporary, dpi=100)
    return figure
