"""Figures: training curves (and, later, attention maps and comparison charts).

A module of small functions, each returning a `matplotlib.figure.Figure` and saving it when
given a path. Figures are built with `matplotlib.figure.Figure` rather than `pyplot`, so no
window or global state is involved and they render the same in scripts, tests and notebooks.
Text in Chinese (or Japanese) needs a font that draws it: `font_family_for` finds one.
"""

import functools
import math
import os
import warnings

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from tlm.files import atomic_path

# Characters a font must draw to show Chinese (simplified and traditional) and Japanese text.
_CJK_PROBE = "你好詩國の"
# Fonts known to cover Chinese, tried first (Debian: fonts-wqy-microhei, fonts-noto-cjk;
# macOS and Windows ship the others); any other installed font that draws the probe also does.
CJK_FONT_FAMILIES = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "SimHei",
    "Droid Sans Fallback",
)


def is_cjk(text):
    """Whether `text` holds a CJK character (U+2E80 and above, below the surrogates).

    >>> is_cjk("ROMEO:"), is_cjk("床前明月光")
    (False, True)
    """
    return any("\u2e80" <= character < "\ud800" or "\uf900" <= character <= "\uffef"
               for character in text)  # fmt: skip


def _draws(path, characters):
    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(character) in charmap for character in characters)


@functools.cache
def cjk_font():
    """The family name of an installed font that draws Chinese and Japanese text, or None.

    Known families (`CJK_FONT_FAMILIES`) first, then the system's font folders (a font
    installed after matplotlib built its font cache is found there and added), then every font
    matplotlib knows but its Last Resort font (boxes). Figures that show CJK text
    (`font_family_for`) use it; without one they warn once, since the characters would be
    drawn as empty boxes.
    """
    entries = [
        # matplotlib's Last Resort font has a "glyph" for every character: a box naming its
        # Unicode block, which is what this function is for avoiding.
        entry
        for entry in font_manager.fontManager.ttflist
        if not entry.name.startswith("Last Resort")
    ]
    by_name = {entry.name: entry.fname for entry in entries}
    for family in CJK_FONT_FAMILIES:
        if family in by_name and _draws(by_name[family], _CJK_PROBE):
            return family
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in sorted(font_manager.findSystemFonts()):
        if path not in known and _draws(path, _CJK_PROBE):
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    for entry in entries:
        if _draws(entry.fname, _CJK_PROBE):
            return entry.name
    return None


def font_family_for(texts):
    """The font families to draw `texts` with: None (matplotlib's default) unless a text holds
    CJK characters, then a CJK font before the default sans-serif fonts.

    Warns (a `UserWarning`, once) when the texts need a CJK font and none is installed.
    """
    if not any(is_cjk(text) for text in texts):
        return None
    family = cjk_font()
    if family is None:
        _warn_no_cjk_font()
        return None
    return [family, "DejaVu Sans"]


@functools.cache
def _warn_no_cjk_font():
    warnings.warn(
        "No installed font draws Chinese characters, so they show as empty boxes in figures. "
        "Install one (Debian and Ubuntu: `apt-get install fonts-wqy-microhei`).",
        UserWarning,
        stacklevel=3,
    )


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
