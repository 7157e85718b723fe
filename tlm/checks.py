"""Argument checks shared by every part of tlm: clear errors, raised before any work starts.

Each check raises a `ValueError` that names the argument, states the rule and quotes the value
received, in keras-hub's style:

    `batch_size` must be an integer of at least 1. Received: batch_size=0

Layers, models, data, training, generation and compare all use these, so one rule reads the
same everywhere. `None` is never a stand-in for a number here: an argument that may be "not
given" defaults to `None` and is checked with an `optional_*` variant; an explicit 0 is an error.
"""

import math
import numbers


def check_positive_int(name, value):
    """Raise a `ValueError` unless `value` is an integer (Python or numpy) of at least 1.

    Example:

    >>> check_positive_int("batch_size", 32)
    >>> check_positive_int("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: `batch_size` must be an integer of at least 1. Received: batch_size=0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be an integer of at least 1. Received: {name}={value!r}")


def check_optional_positive_int(name, value):
    """Like `check_positive_int`, but `None` (not given) passes.

    Example:

    >>> check_optional_positive_int("stride", None)
    >>> check_optional_positive_int("stride", -1)
    Traceback (most recent call last):
    ...
    ValueError: `stride` must be None or an integer of at least 1. Received: stride=-1
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"`{name}` must be None or an integer of at least 1. Received: {name}={value!r}"
        )


def check_non_negative_int(name, value):
    """Raise a `ValueError` unless `value` is an integer of at least 0 (a count, a seed).

    Example:

    >>> check_non_negative_int("warmup_steps", -5)
    Traceback (most recent call last):
    ...
    ValueError: `warmup_steps` must be an integer of at least 0. Received: warmup_steps=-5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be an integer of at least 0. Received: {name}={value!r}")


def check_positive_number(name, value, optional=False):
    """Raise a `ValueError` unless `value` is a finite number greater than 0.

    With `optional=True`, `None` (not given) passes too.

    Example:

    >>> check_positive_number("learning_rate", 0.0)
    Traceback (most recent call last):
    ...
    ValueError: `learning_rate` must be a finite number greater than 0. Received: learning_rate=0.0
    """
    if value is None and optional:
        return
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        rule = (
            "None or a finite number greater than 0"
            if optional
            else ("a finite number greater than 0")
        )
        raise ValueError(f"`{name}` must be {rule}. Received: {name}={value!r}")


def check_non_negative_number(name, value):
    """Raise a `ValueError` unless `value` is a finite number of at least 0 (a decay, a rate).

    Example:

    >>> check_non_negative_number("weight_decay", -0.1)
    Traceback (most recent call last):
    ...
    ValueError: `weight_decay` must be a finite number of at least 0. Received: weight_decay=-0.1
    """
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"`{name}` must be a finite number of at least 0. Received: {name}={value!r}"
        )


def check_rate(name, value):
    """Raise a `ValueError` unless `0 <= value < 1` (a dropout rate, a momentum).

    Example:

    >>> check_rate("dropout", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: `dropout` must be a number in [0, 1). Received: dropout=1.0
    """
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")


def check_choice(name, value, choices):
    """Raise a `ValueError` unless `value` is one of `choices`, listing the valid ones.

    Example:

    >>> check_choice("strategy", "tpu", ("default", "mirrored"))
    Traceback (most recent call last):
    ...
    ValueError: `strategy` must be one of 'default', 'mirrored'. Received: strategy='tpu'
    """
    if value not in choices:
        valid = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"`{name}` must be one of {valid}. Received: {name}={value!r}")


def check_known_names(what, given, valid):
    """Raise a `ValueError` unless every name in `given` is in `valid`, listing the valid ones.

    Example:

    >>> check_known_names("training setting(s)", ["epoch"], ["epochs", "seed"])
    Traceback (most recent call last):
    ...
    ValueError: Unknown training setting(s): epoch. Valid: epochs, seed. Received: ['epoch']
    """
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown {what}: {', '.join(unknown)}. Valid: {', '.join(sorted(valid))}. "
            f"Received: {unknown}"
        )


def check_unicode_text(name, value):
    r"""Raise a `ValueError` unless the string `value` can be written as UTF-8.

    Python strings may hold lone surrogates (what undecodable bytes in a command line become);
    no encoding can write them, and TensorFlow refuses them deep inside a call. Checked first,
    the error names the argument and where the bad character is.

    Example:

    >>> check_unicode_text("prompt", "ROMEO: \u2764")
    >>> check_unicode_text("prompt", "ROMEO\udcff")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `prompt` must be valid Unicode text: it holds a lone surrogate ('\udcff' at ...
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"`{name}` must be valid Unicode text: it holds a lone surrogate "
            f"({value[error.start : error.end]!r} at index {error.start}), which no text "
            f"encoding can represent. Received: {name}={value!r}"
        ) from None


def check_fits_one_batch(split, num_tokens, num_windows, sequence_length, batch_size, stride=None):
    """Raise a `ValueError` unless a split of `num_windows` windows fills one training batch.

    Training drops partial batches (static shapes), so a split must hold at least `batch_size`
    windows of `sequence_length + 1` tokens.

    Example:

    >>> check_fits_one_batch("train", 100, 3, sequence_length=32, batch_size=4)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The train split is too small for one batch: it holds 3 windows ... stride=32
    """
    if num_windows < batch_size:
        raise ValueError(
            f"The {split} split is too small for one batch: it holds {num_windows} windows of "
            "sequence_length + 1 tokens, fewer than batch_size. Use a smaller batch_size, "
            f"sequence_length or stride. Received: {num_tokens} tokens, "
            f"sequence_length={sequence_length}, batch_size={batch_size}, "
            f"stride={stride or sequence_length}"
        )


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
