"""Command-line options generated from a settings dataclass, so a setting is written down once.

Each field of a dataclass such as `tlm.training.TrainConfig` carries its help text (and, where it
has them, its choices) in `metadata`; `add_options` turns fields into argparse options whose help
ends with the field's own default, and `given` reads back only the options the user typed. An
option not typed is absent, so the dataclass default applies; an explicit value, 0 included,
is passed on and checked by the dataclass.
"""

import argparse
import dataclasses
import types
import typing


def option_name(name):
    """`"steps_per_epoch"` -> `"--steps-per-epoch"`."""
    return "--" + name.replace("_", "-")


def format_default(value):
    """How `--help` states a default: `None`, `true`/`false`, numbers and strings as typed.

    Example:

    >>> format_default(1e-3), format_default(None), format_default(False)
    ('0.001', 'None', 'false')
    >>> format_default(("transformer", "lstm")), format_default(("to be",)), format_default(())
    ('transformer lstm', "'to be'", 'none')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return " ".join(_quoted(item) for item in value) or "none"
    return str(value)


def _quoted(item):
    # A list item with spaces or control characters is shown as a Python string literal.
    text = str(item)
    return repr(text) if not text or any(c.isspace() for c in text) else text


def parse_choice(choices):
    """An argparse `type` that maps the text of each choice (`"true"`, `"2"`) to the choice.

    Any other text is passed on as it is, for the settings dataclass to refuse with its usual
    message (which lists the valid choices).
    """
    by_text = {format_default(choice): choice for choice in choices if choice is not None}

    def parse(text):
        return by_text.get(text, text)

    return parse


def field_help(field, default_text=None):
    """The field's help text with its default: `"... (default: 0.001)"`."""
    default = format_default(field.default) if default_text is None else default_text
    return f"{field.metadata['help']} (default: {default})"


def add_options(group, config_class, names=None, default_texts=None):
    """Add an option for each field of `config_class` (those in `names`, in that order).

    Fields whose metadata says `cli=False` are skipped. The option's type follows the field's
    annotation: `int`, `float`, `str`, `bool` (`--x/--no-x`), `tuple` (one or more values);
    fields with `choices` take the text of a choice. `default_texts` replaces the stated
    default of some fields (for a default that depends on another option, such as `--quick`).
    """
    hints = typing.get_type_hints(config_class)
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    for name in names or list(fields):
        field = fields[name]
        if not field.metadata.get("cli", True):
            continue
        kind = _base_type(hints[name])
        help_text = field_help(field, (default_texts or {}).get(name))
        options = {"default": argparse.SUPPRESS, "help": help_text, "dest": name}
        choices = field.metadata.get("choices")
        if choices:
            options["type"] = parse_choice(choices)
            options["metavar"] = (
                "{" + ",".join(format_default(c) for c in choices if c is not None) + "}"
            )
        elif kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif kind is tuple:
            options["nargs"] = "+"
            options["type"] = field.metadata.get("item_type", str)
            options["metavar"] = field.metadata.get("metavar") or name.rstrip("s").upper()
        else:
            options["type"] = kind if kind in (int, float) else str
        group.add_argument(option_name(name), **options)


def given(args, config_class):
    """`{field: value}` for every option of `config_class` that the command line set."""
    names = {field.name for field in dataclasses.fields(config_class)}
    return {name: value for name, value in vars(args).items() if name in names}


def _base_type(annotation):
    # `int | None` -> int; a plain annotation as it is.
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else object
    return typing.get_origin(annotation) or annotation
