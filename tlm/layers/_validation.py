"""Argument checks shared by the layers and models: clear errors, raised before any work."""


def check_positive_int(name, value):
    """Raise a `ValueError` unless `value` is an integer of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be an integer of at least 1. Received: {name}={value!r}")


def check_rate(name, value):
    """Raise a `ValueError` unless `0 <= value < 1` (a dropout rate)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")


def check_choice(name, value, choices):
    """Raise a `ValueError` unless `value` is one of `choices`, listing the valid ones."""
    if value not in choices:
        valid = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"`{name}` must be one of {valid}. Received: {name}={value!r}")
